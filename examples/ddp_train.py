"""DistributedDataParallel training of the graph models (IGN, PPGN) and SPDNet, with torchrun.

Run (CPU, gloo; one process per core)::

    torchrun --nproc_per_node 2 examples/ddp_train.py --model ign --steps 20
    torchrun --nproc_per_node 2 examples/ddp_train.py --model spdnet
    python examples/ddp_train.py            # without torchrun: one process (world size 1)

On GPUs the same command uses NCCL and one GPU per process (``--backend nccl`` or the
default ``auto``). Each process builds the same model from the same seed, wraps it in
``torch.nn.parallel.DistributedDataParallel`` (which averages the gradients over processes
after every backward), and reads its own share of the data: graphs through
``DistributedSizeAwareBatchSampler`` (batches of similar size, the same number of batches on
every process), SPD matrices through ``DistributedSampler``. With equal local batch sizes
a step equals one single-process step on the union of the processes' batches
(``tests/integrations/pyg/test_pyg_ddp.py`` checks it). Data: ``--data mutag`` (the MUTAG
s2v file of the data folder) or ``--data synthetic`` (random graphs / SPD matrices, no files
needed).
``--save PATH`` writes the final parameters and each step's batch indices per rank.
"""

from __future__ import annotations

import argparse
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader as TorchLoader
from torch.utils.data import DistributedSampler, TensorDataset


def synthetic_graphs(count: int, seed: int):
    """Random undirected graphs of 6 to 8 nodes with 3 node features and a binary label."""
    from torch_geometric.data import Data

    generator = torch.Generator().manual_seed(seed)
    graphs = []
    for _ in range(count):
        n = int(torch.randint(6, 9, (1,), generator=generator))
        upper = torch.triu_indices(n, n, 1)
        keep = torch.rand(upper.shape[1], generator=generator) < 0.4
        edges = upper[:, keep]
        graphs.append(Data(x=torch.randn(n, 3, generator=generator),
                           edge_index=torch.cat([edges, edges.flip(0)], 1),
                           y=torch.tensor([int(keep.sum()) % 2]), num_nodes=n))
    return graphs


def synthetic_spd(count: int, dim: int, seed: int) -> TensorDataset:
    """SPD matrices ``A Aᵀ / dim + 0.1 I`` (float64) and a label from their trace."""
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(count, dim, dim, generator=generator, dtype=torch.float64)
    spd = a @ a.transpose(1, 2) / dim + 0.1 * torch.eye(dim, dtype=torch.float64)
    labels = (spd.diagonal(dim1=1, dim2=2).sum(-1) > dim * 1.1).long()
    return TensorDataset(spd, labels)


def make_model(name: str, features: int, hidden: int) -> nn.Module:
    """The model of ``--model name`` (built after ``torch.manual_seed``)."""
    from geomlayers.pyg import PPGN, InvariantGraphNetwork

    if name == "spdnet":
        from geomlayers.models import SPDNet

        return SPDNet([features, 6, 4], 2, dtype=torch.float64)
    if name == "ign":
        return InvariantGraphNetwork(features, hidden, 2, num_layers=2, readout="sum",
                                     mlp_channels=(hidden,))
    return PPGN(features, hidden, 2, num_blocks=2, readout="sum", mlp_channels=(hidden,))


def build(args):
    """``(model, batches)``: the model (same on every process) and this process's batches."""
    from torch_geometric.loader import DataLoader

    from geomlayers.pyg import DistributedSizeAwareBatchSampler

    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(args.seed)
    if args.model == "spdnet":
        data = synthetic_spd(args.num_samples, 8, args.seed)
        model = make_model("spdnet", 8, args.hidden)
        sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True,
                                     seed=args.seed, drop_last=True)
        sampler.set_epoch(0)
        loader = TorchLoader(data, batch_size=args.batch_size, sampler=sampler, drop_last=True)
        indices = list(sampler)
        batches = [(x, y, indices[i * args.batch_size:(i + 1) * args.batch_size])
                   for i, (x, y) in enumerate(loader)]
        return model, batches
    if args.data == "mutag":
        from geomlayers.data.graphs import load_s2v

        graphs = load_s2v("MUTAG")
    else:
        graphs = synthetic_graphs(args.num_samples, args.seed)
    model = make_model(args.model, graphs[0].x.shape[1], args.hidden)
    sampler = DistributedSizeAwareBatchSampler(
        [g.num_nodes for g in graphs], args.batch_size, num_replicas=world, rank=rank,
        power=2 if args.model == "ign" else 3, shuffle=not args.sorted, seed=args.seed,
        drop_last=True)
    sampler.set_epoch(0)
    order = list(sampler)
    sampler.set_epoch(0)
    loader = DataLoader(graphs, batch_sampler=sampler)
    return model, [(batch, batch.y, indices) for batch, indices in zip(loader, order,
                                                                       strict=True)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=["ign", "ppgn", "spdnet"], default="ign")
    parser.add_argument("--data", choices=["synthetic", "mutag"], default="synthetic")
    parser.add_argument("--backend", choices=["auto", "gloo", "nccl"], default="auto")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--num-samples", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sorted", action="store_true",
                        help="fixed size-sorted batches (no shuffling), for exact checks")
    parser.add_argument("--save", default=None, help="file for parameters and batch indices")
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available() and args.backend != "gloo"
    backend = args.backend if args.backend != "auto" else ("nccl" if cuda else "gloo")
    if "RANK" not in os.environ:  # run without torchrun: one process, world size 1
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0",
                          MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group(backend)  # torchrun sets RANK, WORLD_SIZE, MASTER_ADDR/PORT
    torch.set_num_threads(1)
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    model, batches = build(args)
    model = DistributedDataParallel(model.to(device),
                                    device_ids=[local_rank] if cuda else None)
    if args.model == "spdnet":
        import geoopt

        optimiser = geoopt.optim.RiemannianSGD(model.parameters(), lr=args.lr)
    else:
        optimiser = torch.optim.SGD(model.parameters(), lr=args.lr)
    trained = []
    for step, (inputs, labels, indices) in enumerate(batches[: args.steps]):
        loss = nn.functional.cross_entropy(model(inputs.to(device)), labels.to(device))
        optimiser.zero_grad()
        loss.backward()  # DDP all-reduces (averages) the gradients here
        optimiser.step()
        trained.append([int(i) for i in indices])
        if dist.get_rank() == 0:
            print(f"step {step}: loss {loss.item():.4f} (rank 0)", flush=True)
    if args.save is not None:
        state = {name: value.detach().cpu() if isinstance(value, torch.Tensor) else value
                 for name, value in model.module.state_dict().items()}
        torch.save({"state": state, "batches": trained},
                   f"{args.save}.rank{dist.get_rank()}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
