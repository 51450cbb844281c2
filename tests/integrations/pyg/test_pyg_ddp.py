"""DistributedDataParallel training (examples/ddp_train.py, 2 processes, gloo) equals
single-process training on the union of the two processes' batches."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("torch_geometric")
if not torch.distributed.is_available():
    pytest.skip("torch.distributed is not available", allow_module_level=True)

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "ddp_train.py"


def _example():
    spec = importlib.util.spec_from_file_location("ddp_train_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_ddp(tmp_path, model, steps):
    save = tmp_path / "ddp"
    root = str(EXAMPLE.parents[1])  # the checkout under test, also in the child processes
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=path)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", "2", str(EXAMPLE), "--model", model, "--steps", str(steps),
               "--sorted", "--backend", "gloo", "--save", str(save)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return [torch.load(f"{save}.rank{rank}", weights_only=True) for rank in (0, 1)]


@pytest.mark.parametrize("name", ["ign", "spdnet"])
def test_ddp_step_equals_single_process_on_the_union_batch(tmp_path, name):
    steps = 2
    ranks = _run_ddp(tmp_path, name, steps)
    example = _example()
    for key, value in ranks[0]["state"].items():  # DDP keeps the replicas identical
        if isinstance(value, torch.Tensor):
            torch.testing.assert_close(ranks[1]["state"][key], value, rtol=0, atol=0)
        else:  # extra state (e.g. a basis fingerprint)
            assert ranks[1]["state"][key] == value
    torch.manual_seed(0)
    if name == "spdnet":
        import geoopt

        data = example.synthetic_spd(64, 8, 0)
        model = example.make_model(name, 8, 8)
        optimiser = geoopt.optim.RiemannianSGD(model.parameters(), lr=0.05)
    else:
        from torch_geometric.data import Batch

        graphs = example.synthetic_graphs(64, 0)
        model = example.make_model(name, 3, 8)
        optimiser = torch.optim.SGD(model.parameters(), lr=0.05)
    assert len(ranks[0]["batches"]) == len(ranks[1]["batches"]) == steps
    for step in range(steps):
        first, second = ranks[0]["batches"][step], ranks[1]["batches"][step]
        assert len(first) == len(second)  # equal local batches: mean of means = union mean
        assert not set(first) & set(second)
        union = first + second
        if name == "spdnet":
            inputs, labels = data.tensors[0][union], data.tensors[1][union]
        else:
            inputs = Batch.from_data_list([graphs[i] for i in union])
            labels = inputs.y
        loss = torch.nn.functional.cross_entropy(model(inputs), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    reference = model.state_dict()
    assert set(reference) == set(ranks[0]["state"])
    torch.manual_seed(0)
    initial = example.make_model(name, 8 if name == "spdnet" else 3, 8).state_dict()
    tensors = {k: v for k, v in reference.items() if isinstance(v, torch.Tensor)}
    assert any(not torch.equal(initial[k], v) for k, v in tensors.items())  # it trained
    for key, value in tensors.items():
        torch.testing.assert_close(ranks[0]["state"][key], value.detach(), rtol=1e-5,
                                   atol=1e-6, msg=lambda m, key=key: f"{key}: {m}")
