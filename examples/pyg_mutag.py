"""Train an invariant graph network (IGN) on MUTAG with torch_geometric batches.

Run: python examples/pyg_mutag.py   (about 10-20 s on one CPU thread; also a smoke test, where
PYG_MUTAG_EPOCHS=4 keeps it short)

Loads MUTAG from the shared data folder (s2v format, fold 1 of the standard 10-fold split),
trains ``geomlayers.pyg.InvariantGraphNetwork`` for a few epochs and checks that relabelling
the nodes of every graph leaves the predictions unchanged.
"""

import os

import torch
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader

from geomlayers.data.graphs import load_s2v, s2v_splits
from geomlayers.data_dir import data_dir
from geomlayers.pyg import InvariantGraphNetwork

torch.set_num_threads(1)
torch.manual_seed(0)
if not (data_dir() / "graphs" / "s2v" / "MUTAG.zip").is_file():
    print(f"MUTAG not found under {data_dir()}; set GEOMLAYERS_DATA_DIR")
    raise SystemExit(0)

graphs = load_s2v("MUTAG")  # 188 molecules, 7 one-hot atom types, 2 classes
train_idx, test_idx = s2v_splits("MUTAG")[0]
train = DataLoader([graphs[i] for i in train_idx], batch_size=32, shuffle=True)
test = Batch.from_data_list([graphs[i] for i in test_idx])

model = InvariantGraphNetwork(in_channels=7, hidden_channels=16, out_channels=2, num_layers=2)
optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
epochs = int(os.environ.get("PYG_MUTAG_EPOCHS", 12))
for epoch in range(epochs):
    model.train()
    for batch in train:  # a padded batch: the masked layers give each graph's own result
        loss = torch.nn.functional.cross_entropy(model(batch), batch.y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    if epoch % 4 == 3 or epoch == epochs - 1:
        model.eval()
        with torch.no_grad():
            accuracy = (model(test).argmax(1) == test.y).float().mean()
        print(f"epoch {epoch + 1}: loss {loss.item():.3f}, test accuracy {accuracy:.3f}")

# invariance: relabel the nodes of every test graph at random
relabelled = []
for graph in test.to_data_list():
    perm = torch.randperm(graph.num_nodes)  # node i becomes node perm[i]
    x = torch.empty_like(graph.x)
    x[perm] = graph.x
    relabelled.append(graph.__class__(x=x, edge_index=perm[graph.edge_index], y=graph.y))
with torch.no_grad():
    change = (model(Batch.from_data_list(relabelled)) - model(test)).abs().max()
print(f"largest change of the logits under node relabelling: {change:.2e}")
assert change < 1e-4, f"not invariant to node relabelling: {change:.2e}"  # float32
assert accuracy > 0.5, f"test accuracy {accuracy:.3f} at or below chance"
