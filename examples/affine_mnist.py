"""Train an R² ⋊ SL(2) (or GL⁺(2)) invariant CNN on MNIST, test on the affNIST-like surrogate.

    .venv/bin/python examples/affine_mnist.py                      # a few-second smoke run
    .venv/bin/python examples/affine_mnist.py --train 12000 --test 3000 --group gl2

Trains on untransformed MNIST digits centred on the 40×40 canvas (affNIST's
"just_centered" training set, the protocol of benchmarks/bench_lie.py) on the model's fixed
sample grid, and reports accuracy on the surrogate set of ``geomlayers.data.affine_digits``
(not affNIST itself).
"""

import argparse
import time

import torch
import torch.nn.functional as F

from geomlayers.data.affine_digits import affine_digits, load_mnist, pad_digits
from geomlayers.groups.affine import SL, GLPlus
from geomlayers.models import AffineInvariantCNN
from geomlayers.progress import progress_bar


def accuracy(model, images, labels, batch=200):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            logits = model(images[i: i + batch].unsqueeze(1))
            correct += int((logits.argmax(1) == labels[i: i + batch]).sum())
    return correct / len(images)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--group", choices=["sl2", "gl2"], default="sl2")
    parser.add_argument("--train", type=int, default=128, help="training digits")
    parser.add_argument("--test", type=int, default=50, help="surrogate test digits")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    args, _ = parser.parse_known_args(argv)  # tolerant: the test suite runs it via runpy
    torch.set_num_threads(1)
    torch.manual_seed(0)
    try:
        data = load_mnist()
    except FileNotFoundError as error:
        print(f"skipped: {error}")
        return
    x, y = pad_digits(data["train"][0][: args.train], 40), data["train"][1][: args.train]
    xt, yt, _ = affine_digits(data["test"][0][: args.test], data["test"][1][: args.test], seed=0)
    group = SL(2) if args.group == "sl2" else GLPlus(2)
    model = AffineInvariantCNN(group)
    print(f"{group}: {sum(p.numel() for p in model.parameters()):,} parameters")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps = args.epochs * ((len(x) + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1 - s / steps)
    start = time.perf_counter()
    for _ in progress_bar(range(args.epochs), desc="epochs", unit="epoch"):
        model.train()
        order = torch.randperm(len(x))
        for i in range(0, len(x), args.batch):
            idx = order[i: i + args.batch]
            loss = F.cross_entropy(model(x[idx].unsqueeze(1)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    elapsed = time.perf_counter() - start
    print(f"trained {steps} steps in {elapsed:.1f} s ({args.epochs * len(x) / elapsed:.0f} img/s),"
          f" last loss {loss.item():.3f}")
    print(f"surrogate affNIST-like accuracy ({len(xt)} images): {accuracy(model, xt, yt):.3f}")


if __name__ == "__main__":
    main()
