"""Affine-invariant CNNs on an affNIST-like surrogate: ours (SL(2), GL⁺(2)) vs CNN vs escnn SE(2).

Run: .venv/bin/python benchmarks/bench_lie.py [--train 12000 --test 3000]
  -> benchmarks/results/lie.md

Protocol (scaled down for a shared 1-thread CPU): train each model on the first ``--train``
untransformed MNIST training digits centred on a ``--canvas`` × ``--canvas`` canvas (40:
affNIST's "just_centered" training set) for ``--epochs`` epochs (same images, same order,
batch 64, Adam, linear decay); test on ``--test`` MNIST test digits mapped by one random
affine map each into 40×40 (``geomlayers.data.affine_digits``: rotation ±20°, shear ±0.2,
scales 0.8–1.2, translation inside the box) — a *surrogate*, not affNIST — and on the same
digits untransformed (centred on the training canvas).
All models end in a global max over space (and group), so they run on either canvas size.
Then training throughput of our separable layout vs a re-layout of the authors' dense layout
(``_rgenn_layout.py``) at equal sample counts and widths.
"""

import argparse
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from _machine import provenance  # sibling module of this script
from _rgenn_layout import AuthorsModel
from torch import nn

from geomlayers.data.affine_digits import AFFNIST_RANGES, affine_digits, load_mnist, pad_digits
from geomlayers.groups.affine import SL, GLPlus
from geomlayers.models import AffineInvariantCNN

BATCH = 64

# Written after the run recorded in results/lie.md; re-check the figures if you re-run.
NOTES = """
### Reading these numbers

* **Goal ≥ 95 % on the surrogate with < 400k parameters: met with the local projection.**
  Setting: the affNIST protocol (training digits centred on the 40×40 canvas), 2 epochs,
  10,000 test digits, 91.6k parameters.
  * Local max ±45° (`max_angle=π/4`): R²⋊SL(2) **97.1 %**, R²⋊GL⁺(2) **96.2 %** (clean 98.9 /
    99.0 %); the plain CNN gets 96.8 % here. (affConv's 95.1 % is on real affNIST, a harder
    set: not comparable.)
  * Whole-grid max (exact C8 invariance): R²⋊GL⁺(2) 93.2 %; R²⋊SL(2) 92.5 %; escnn's C8
    model 92.7 %.
  * The same local max applied to escnn's C8 model (max over the 3 channels of each regular
    field at rotations 0, ±45°, instead of its GroupPooling) lifts it from 92.7 to 96.6 %
    (clean 98.9 %, 32k parameters): the gain comes from keeping orientation, not from our
    layers alone. Our SL(2) local model is 0.5 points above it, GL⁺(2) 0.4 below.
  * *Why:* a pilot's confusion matrix (SL(2), whole-grid max, 1 epoch on 12,000 digits) put
    6↔9, 7↔4 and 2↔7 at the top of its errors: pooling over all 8 rotations (180° included)
    merges digits that differ by a rotation. The surrogate rotates by ±20° only, so a max over
    the samples within ±45° of the identity keeps the invariance the test needs and the
    orientation the classes need. In the same pilot it went from 86.6 / 79.5 % (centred /
    surrogate, 2,000 digits) to 95.3 / 91.2 %.
  * *What it costs:* the local model is no longer exactly invariant to the grid's rotations
    (rot90 changes its features, as the tests check); its invariance to ±20° rotations, shears
    and stretches is approximate, as the whole-grid model's already was off the grid.
    Translation invariance (global spatial max) is unchanged.
  * The diagnosis below was made on the whole-grid models before this change; its
    conclusions (translation costs most; pooling aliasing is not the cause) concern them.
* **Earlier protocol (bare 28×28 training digits):**
  * 1 epoch: SL(2) 89.9 %, GL⁺(2) 88.2 %, escnn 86.1 %, CNN 95.6 %.
  * Five epochs of SL(2) reached only 90.9 % (clean 98.4 %). That run was stopped after SL(2)
    (log kept outside the tree), so epochs were not the bottleneck.
* **Diagnosis (one SL(2) model, 1 epoch; per-transform sets of the same digits).**
  Each set applies a single transform: rotation ±20°, per-axis scale 0.8–1.2, shear ±0.2,
  or translation.
  * *Trained on 28×28:* clean 28×28 95.9 %; the same digits centred on 40×40 90.8 %; rotation
    91.7, scale 91.3, shear 92.5, translation 92.5, all together 89.9 %.
    The plain CNN gives 98.8 / 98.3 / 96.6 / 97.4 / 97.8 / 98.1 / 95.6 %.
    The canvas change alone cost our model 5 points, and the affine parts cost it less than
    they cost the CNN: the invariance works. The 40×40 training canvas (and 2 epochs instead
    of 1) raised SL(2) from 89.9 to 92.5 % and GL⁺(2) from 88.2 to 93.2 %; SL(2) after 2
    epochs on 40×40 beats 5 epochs on 28×28 (90.9 %).
  * *Trained on 40×40 (2,000 test digits):* centred 95.2 %, translation alone 91.1 %,
    rotation 90.1, scale 90.3, shear 91.7, all together 89.1 %.
    **Translation costs the most (−4 points).** We believe the cause is the 2×2 max pools
    between layers. Our group-convolution kernels are stretched by the SPD samples, so they
    carry more high-frequency content than the CNN's; a shift that is not a multiple of the
    pooling stride then aliases. Zero padding at the canvas edge may add to it, since the
    surrogate may move ink to within 1 px of the border.
  * A denser grid at test time does not help: the same 40×40 model evaluated on 16
    rotations instead of its training grid's 8 falls from 89.1 to 86.8 % on the surrogate.
    The kernels, continuous in the group coordinates, are fitted only at the relative
    elements of the training grid.
  * *Anti-aliased pooling does not help (pilot, 2026-12-03):* replacing each 2×2 max pool by
    Zhang's MaxBlurPool (2×2 max at stride 1, then a [1 2 1]² blur at stride 2) in SL(2),
    trained 1 epoch on 12,000 40×40 digits and tested on 2,000, gave centred / translation /
    full surrogate 80.0 / 73.2 / 69.5 %, against 86.5 / 82.7 / 79.5 % with plain max pooling.
    The translation gap widened (6.8 against 3.8 points), so pool aliasing is not what costs
    us under translation. The pilot ran from a scratch script outside the tree.
  * *More epochs do not help either (2026-12-03):* GL⁺(2) trained 5 epochs on the 50,000
    40×40 digits (same protocol as the table, `--epochs 5 --only GL`) reaches 98.1 % clean and
    93.1 % on the surrogate, against 93.2 % after 2 epochs. The 5-point gap to clean accuracy
    is a generalisation gap under the transforms, not under-training.
  * *Two SPD seeds in the grid do not help at 1 epoch (pilot, 2026-12-03):* SL(2) with
    `num_seeds=2` (N = 16 group elements: 2 random SPD stretches × 8 rotations), otherwise as
    in the MaxBlurPool pilot, gave centred / translation / full 77.2 / 74.9 / 68.2 %, against
    86.5 / 82.7 / 79.5 % with one seed, and trained 2.8× slower (391 s against 140 s). A
    longer run might narrow the gap; we did not afford it. Scratch script outside the tree.
  * *Pilots of 2026-12-03, session 7 (same 1-epoch, 12,000-digit setting; centred / full
    surrogate on 2,000 digits; the one-seed fixed-grid SL(2) baseline reran at 86.6 / 79.5):*
    * Redrawing the grid every step (`resample=True`, then the model default) collapsed to one
      class in eval mode: 11.7 / 11.7 %. One-seed grids differ several-fold in total
      importance weight, so batch-norm running statistics do not fit the eval grid. The
      model default is now `resample=False`.
    * Self-normalising the group-mixing weights per output row (a consistent ratio
      estimator whose scale does not depend on the draw) removed the collapse but still
      learned slowly with redrawn grids: 42.7 / 41.5 % (2 and 4 seeds at eval: 35.6 / 37.9 and
      42.3 / 42.1 %). With the fixed grid it scored 81.5 / 71.1 % against 86.6 / 79.5 % for
      the plain sum; it was not kept.
    * Doubling the widths to (24, 48, 96) (349,946 parameters) gave 72.7 / 65.2 % and trained
      3.3× slower: more width does not help at this budget.
* **The surrogate is easier than affNIST.** A plain CNN with no invariance reaches 96.8 % on it,
  while non-invariant models score far lower on real affNIST (CapsNet 79 %). Our maps use
  ranges recalled from the affNIST page, one map per digit, and translations that keep the ink
  inside the canvas; the affNIST generator's exact sampling is not reproduced. So "≥ 95 % on
  the surrogate" does not test what affConv's 95.1 % on affNIST tests.
* **Throughput goal (≥ 2× the authors' layout at equal sample counts): met.** 2.1× at N = 8 and
  3.8–4.1× at N = 16, the same as the earlier run on an idle CPU (2.1× / 3.9×). Per pixel the
  dense layer costs N²C²k² and the separable one N²C² + N·C²k², so the gap grows with N. The
  accuracy table's training img/s come from a CPU shared with two other jobs; compare them
  only with each other.
* escnn's model has fewer parameters (32k) because its steerable basis is small. Widths were
  matched in layout (fields × 8 rotations ≈ our channels × 8 samples), not in count.
"""


class PlainCNN(nn.Module):
    """conv5-BN-ReLU-pool ×2, conv3-BN-ReLU, global max, MLP head."""

    def __init__(self, widths=(32, 64, 64), head=64):
        super().__init__()
        a, b, c = widths
        self.body = nn.Sequential(
            nn.Conv2d(1, a, 5, padding=2), nn.BatchNorm2d(a), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(a, b, 5, padding=2), nn.BatchNorm2d(b), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(b, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(c, head), nn.ReLU(), nn.Linear(head, 10))

    def forward(self, x):
        return self.head(self.body(x).flatten(2).amax(-1))


class SE2CNN(nn.Module):
    """escnn C8-regular steerable CNN (SE(2) discretised to 8 rotations), same layout."""

    def __init__(self, fields=(8, 16, 24), head=64, rotations=8, local=False):
        """``local``: max over the rotations 0 and ±360°/rotations only (3 of the 8 channels of
        each regular field), instead of escnn's GroupPooling over all of them."""
        super().__init__()
        self.rotations, self.local = rotations, local
        from escnn import gspaces
        from escnn import nn as enn

        space = gspaces.rot2dOnR2(N=rotations)
        self.input_type = enn.FieldType(space, [space.trivial_repr])
        types = [enn.FieldType(space, k * [space.regular_repr]) for k in fields]
        layers, prev = [], self.input_type
        for i, (t, k) in enumerate(zip(types, (5, 5, 3), strict=True)):
            layers += [enn.R2Conv(prev, t, k, padding=k // 2), enn.InnerBatchNorm(t),
                       enn.ReLU(t)]
            if i < 2:
                layers.append(enn.PointwiseMaxPool(t, 2))
            prev = t
        if not local:
            layers.append(enn.GroupPooling(prev))
        self.body = enn.SequentialModule(*layers)
        self.enn = enn
        self.head = nn.Sequential(nn.Linear(fields[-1], head), nn.ReLU(), nn.Linear(head, 10))

    def forward(self, x):
        y = self.body(self.enn.GeometricTensor(x, self.input_type)).tensor
        if self.local:  # regular fields: channel k of a field is the rotation by 2πk/N
            y = y.reshape(y.shape[0], -1, self.rotations, *y.shape[2:])
            y = y[:, :, [self.rotations - 1, 0, 1]].flatten(2)
        return self.head(y.flatten(2).amax(-1))


def train(model, x, y, epochs=1, lr=3e-3):
    """Adam with a linear decay to 0 over all epochs; epoch e shuffles with seed e."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    per_epoch = (len(x) + BATCH - 1) // BATCH
    steps = epochs * per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1 - s / steps))
    model.train()
    start = time.perf_counter()
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch))
        for step, i in enumerate(range(0, len(x), BATCH)):
            idx = order[i: i + BATCH]
            loss = F.cross_entropy(model(x[idx].unsqueeze(1)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if step % 100 == 0:
                print(f"  epoch {epoch} step {step}/{per_epoch} loss {loss.item():.3f}",
                      flush=True)
    return time.perf_counter() - start


def accuracy(model, x, y, batch=250):
    model.eval()
    hits = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            hits += int((model(x[i: i + batch].unsqueeze(1)).argmax(1) == y[i: i + batch]).sum())
    return 100.0 * hits / len(x)


def step_time(model, x, y, repeats=3):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        loss = F.cross_entropy(model(x.unsqueeze(1)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return min(times[1:])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=int, default=12000)
    parser.add_argument("--test", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--canvas", type=int, default=40,
                        help="training (and clean test) digits centred on this canvas; 40 is "
                             "affNIST's 'just_centered' training set, 28 the bare digits")
    parser.add_argument("--only", default="", help="comma list of models to run (debug)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "lie.md"),
                        help="results file (the reading notes are written only to lie.md)")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_mnist()
    x, y = pad_digits(data["train"][0][: args.train], args.canvas), data["train"][1][: args.train]
    digits, yt = data["test"][0][: args.test], data["test"][1][: args.test]
    xt, yt_aff, _ = affine_digits(digits, yt, copies=1, seed=0)
    xt_clean = pad_digits(digits, args.canvas)
    builders = {
        "ours R²⋊SL(2)": lambda: AffineInvariantCNN(SL(2), resample=False),
        "ours R²⋊GL⁺(2)": lambda: AffineInvariantCNN(GLPlus(2), resample=False),
        "ours R²⋊SL(2) local max ±45°": lambda: AffineInvariantCNN(SL(2), max_angle=math.pi / 4),
        "ours R²⋊GL⁺(2) local max ±45°": lambda: AffineInvariantCNN(GLPlus(2),
                                                                   max_angle=math.pi / 4),
        "plain CNN": PlainCNN,
        "escnn SE(2) (C8 regular)": SE2CNN,
        "escnn SE(2) (C8 regular) local max ±45°": lambda: SE2CNN(local=True),
    }
    rows = []
    for name, build in builders.items():
        if args.only and not any(k in name for k in args.only.split(",")):
            continue
        torch.manual_seed(0)
        model = build()
        params = sum(p.numel() for p in model.parameters())
        print(f"{name}: {params} parameters", flush=True)
        seconds = train(model, x, y, epochs=args.epochs)
        start = time.perf_counter()
        acc_aff = accuracy(model, xt, yt_aff)
        eval_s = time.perf_counter() - start
        acc_clean = accuracy(model, xt_clean, yt)
        images_per_s = args.epochs * len(x) / seconds
        rows.append((name, params, seconds, images_per_s, acc_clean, acc_aff, eval_s))
        print(rows[-1], flush=True)

    throughput = []
    xb, yb = data["train"][0][:BATCH], y[:BATCH]  # bare 28×28 digits, as in earlier runs
    for num in () if args.skip_throughput else (8, 16):
        for group in (SL(2), GLPlus(2)):
            torch.manual_seed(0)
            ours = AffineInvariantCNN(group, orbit=num)
            theirs = AuthorsModel(group, num_samples=num)
            t_ours, t_theirs = step_time(ours, xb, yb), step_time(theirs, xb, yb)
            throughput.append((str(group), num, BATCH / t_ours, BATCH / t_theirs,
                               sum(p.numel() for p in ours.parameters()),
                               sum(p.numel() for p in theirs.parameters())))
            print(throughput[-1], flush=True)
    write(rows, throughput, args)


def write(rows, throughput, args):
    command = (f".venv/bin/python benchmarks/bench_lie.py --train {args.train} --test {args.test}"
               f" --epochs {args.epochs} --canvas {args.canvas}"
               + (f" --only {args.only}" if args.only else "")
               + (" --skip-throughput" if args.skip_throughput else ""))
    r = AFFNIST_RANGES
    lines = [
        "## Affine-invariant CNNs on an affNIST-like surrogate (CPU, 1 thread)",
        "",
        provenance(command),
        "",
        f"**Surrogate, not affNIST**: the first {args.test} MNIST test digits, each mapped by one "
        f"random affine map into a 40×40 canvas: rotation ±{r['rotation_deg']:.0f}°, shear "
        f"±{r['shear']}, per-axis scale {r['scale'][0]}–{r['scale'][1]}, random translation "
        "keeping the ink inside (ranges as recalled from the affNIST page; seed 0). Training: "
        f"the first {args.train} untransformed MNIST training digits centred on a "
        f"{args.canvas}×{args.canvas} canvas, "
        f"{args.epochs} epoch(s), batch "
        f"{BATCH}, Adam 3e-3 with linear decay, no augmentation, same order for all models. "
        "Our models train and test on one fixed, seeded sample grid (1 seed × 8 rotations, "
        "`resample=False`; redrawing it every step learned slower in short pilot runs). "
        "Rows marked *local max ±45°* pool only over the grid samples whose rotation is within "
        "45° of the identity (`max_angle=π/4`: 2 of the 8), so orientation still tells a 6 "
        "from a 9; our other rows pool over the whole grid (exact C8 rotation invariance).",
        "",
        f"| model | params | train time (s) | train img/s | MNIST test (clean, {args.canvas}×"
        f"{args.canvas}, %) "
        "| surrogate (%) | surrogate eval (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, params, sec, ips, clean, aff, ev in rows:
        lines.append(f"| {name} | {params:,} | {sec:.0f} | {ips:.0f} | {clean:.2f} | {aff:.2f} "
                     f"| {ev:.0f} |")
    lines += [
        "",
        "Published affNIST anchors (full 50k training set, 320k test images; not comparable "
        "with the row above): affConv 95.1, InvarLayer 98.5, CapsNet 79 (Li et al. CVPR 2024, "
        "Table 4).",
    ]
    if throughput:
        lines += _throughput_table(throughput)
    out = Path(args.out)
    if out.name == "lie.md":
        lines.append(NOTES)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _throughput_table(throughput):
    lines = [
        "",
        "### Training throughput: separable layout (ours) vs the authors' dense layout",
        "",
        f"One training step (forward, backward, Adam) on a batch of {BATCH} 28×28 digits, best "
        "of 3 after a warm-up; channels (12, 24, 48), N group samples in both; the authors' "
        "layout re-implemented in `benchmarks/_rgenn_layout.py` (dense C_in·N → C_out·N 5×5 "
        "convolution, SIREN width 60 on every (a, b, tap) triple).",
        "",
        "| group | N samples | ours (img/s) | authors' layout (img/s) | speed-up "
        "| params ours | params authors' layout |",
        "|---|---|---|---|---|---|---|",
    ]
    for group, num, ours, theirs, p_ours, p_theirs in throughput:
        lines.append(f"| {group} | {num} | {ours:.0f} | {theirs:.0f} | {ours / theirs:.1f}x "
                     f"| {p_ours:,} | {p_theirs:,} |")
    return lines


if __name__ == "__main__":
    main()
