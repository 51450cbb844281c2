"""One Aut(G) layer case of bench_aut_layer.py, run in a fresh process.

Arguments: graph kind, n, k, l, batch, channels; prints one JSON line.
"""

import json
import resource
import sys
import time

import networkx as nx
import torch

from geomlayers.groups import AutomorphismGroup
from geomlayers.nn import EquivariantLinear

torch.set_num_threads(1)
kind, n, k, l, batch, channels = sys.argv[1], *map(int, sys.argv[2:7])
graph = {"cycle": lambda: nx.cycle_graph(n),
         "grid": lambda: nx.grid_2d_graph(int(n ** 0.5), n // int(n ** 0.5), periodic=True),
         "random3": lambda: nx.random_regular_graph(3, n, seed=0)}[kind]()
graph = nx.convert_node_labels_to_integers(graph)
start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
layer = EquivariantLinear(AutomorphismGroup(graph), k, l, channels, channels, backend="torch")
built = time.perf_counter() - start
x = torch.randn(batch, channels, *([graph.number_of_nodes()] * k), requires_grad=True)
times = []
for _ in range(3):
    start = time.perf_counter()
    layer(x).square().sum().backward()
    times.append(time.perf_counter() - start)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
m = len(layer.basis)
nodes = graph.number_of_nodes()
print(json.dumps({
    "graph": kind, "n": nodes, "k": k, "l": l, "batch": batch, "channels": channels,
    "elements": m, "table_entries": layer._program.table.nnz,
    "build_s": round(built, 3), "step_s": round(min(times), 4),
    "peak_rss_mb": round(peak / 1024, 1), "growth_mb": round((peak - start_rss) / 1024, 1),
    "dense_stack_gb": round(m * nodes ** (k + l) * 8 / 1e9, 3),
}))
