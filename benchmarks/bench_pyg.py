"""IGN and PPGN (geomlayers.pyg) vs a PyG GIN baseline: TU benchmarks and expressivity.

Run: .venv/bin/python benchmarks/bench_pyg.py [--datasets MUTAG PTC ...] [--epochs 40]
     -> benchmarks/results/pyg.md (rewritten after every dataset)

Classification: 10-fold cross-validation on the standard s2v splits (the GIN / IGN / PPGN
protocol), the models trained in this one script with the same features and optimiser
(GIN on uniformly random batches, the dense models on batches of similar size, which saves
padding; a row names its schedule). Reported: test accuracy mean ± std over the folds at the
last epoch, and at the epoch whose fold-averaged test accuracy is best (the protocol of Xu
et al. 2019 §7, also used by Maron et al. 2019 a/b, which is optimistic), plus training time
per epoch.
Expressivity: models at random init (float64) on EXP (600 1-WL-equivalent pairs) and
graph8c (all pairs of the 11,117 connected 8-node graphs): pairs whose outputs agree within
``tol`` = 1e-9 · (largest output entry) are counted as not distinguished.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from _machine import provenance  # sibling module of this script
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.nn import GINConv, global_add_pool

from geomlayers.data.graphs import load_exp, load_graph8c, load_s2v, s2v_splits
from geomlayers.pyg import (
    PPGN,
    InvariantGraphNetwork,
    SizeAwareBatchSampler,
    ign3,
    ppgn_paper,
)

RESULTS = Path(__file__).parent / "results"
ANCHORS = {  # IGN (Maron et al. 2019) and PPGN (Maron et al. 2019b) as given in issue 6, %
    "MUTAG": (83.9, 90.6), "PTC": (58.5, "—"), "PROTEINS": (76.6, 77.2),
    "NCI1": (74.3, "—"), "IMDBBINARY": (72.0, 73.0), "IMDBMULTI": (48.7, "—"),
}
GIN_PAPER = {"MUTAG": 89.4, "PTC": 64.6, "PROTEINS": 76.2, "NCI1": 82.7, "IMDBBINARY": 75.1,
             "IMDBMULTI": 52.3}  # Xu et al. 2019, Table 1 (GIN-0)


NOTES = """### Reading (written by hand after the runs; kept in the script so reruns keep it)

* **Budget.** Every data set ran the standard 10 folds: MUTAG × 100 epochs, PTC × 50, NCI1 × 150
  (IGN; 2026-12-04, the run split over two processes, `--only-folds 1-5` and
  `--only-folds 6-10` with `--fold-cache`, then the row's command read all ten folds back;
  1 h 40 min on two cores), IMDB-B and IMDB-M × 30, PROTEINS × 40 for IGN; GIN × 350 on
  every data set, its paper's schedule (below). The PROTEINS IGN row
  (2026-12-04, two processes, 39 min on two cores) ran at 5.5–10 s an epoch.
  PPGN is not in the NCI1 rows: an earlier run of 3 folds × 10 epochs gave it 64.7 ± 3.5
  (IGN 66.0, GIN 72.6 in that run); 10 × 50 would take 1.7 h of a core, not spent this time.
  PPGN on PROTEINS first ran on a GPU, then on this CPU (below): its n³ channel products
  on graphs of up to 620 nodes make it the costliest row. Measured 2026-12-04 (one fold, one epoch,
  PPGN-paper at hidden 32, one thread): 188 s an epoch with every batch padded to its
  largest graph, 128 s since the models run a batch in groups of similar size (same
  numbers, less padding); the 620-node
  graph alone takes 11–13 s forward and backward, most of it in passes over its
  620² × 32 tensors. On 2026-12-05 (after the channel-first pair MLPs and the index-based
  max readout) an epoch took 43–45 s alone on one core and 36 s on average over the ten
  folds' first 35 epochs (two processes on two cores), the 620-node graph about 5 s forward
  and backward, mostly in the batched matmuls: the authors' 100 epochs × 10 folds are about
  10 h of a core. Runs shared the CPU with other jobs, so compare s/epoch only within a
  data set.
* **IGN needs a smaller learning rate.** At lr 0.01 (chosen on MUTAG), IGN collapsed to one
  class on some folds:
  * IMDB-M: 9 of 10 folds at 25–35 % (last-epoch mean 33.1 %);
  * IMDB-B: 2 of 10 folds at 50 %, so 68.2 %;
  * NCI1: 60.3 % after 10 epochs.
  At lr 0.001 none collapsed. Those rows are marked "(lr 0.001)"; GIN keeps lr 0.01, and so
  does PPGN except on IMDB-B, where lr 0.001 gives 73.7 ± 3.8 (lr 0.01: 71.7 ± 7.7), above
  PPGN's published 73.0.
* **Goal "match or beat IGN everywhere" (best-epoch protocol): met on MUTAG, PTC, IMDB-B and
  IMDB-M; not on NCI1 (0.3 points short, still rising at epoch 150) and PROTEINS (0.4
  short).**

  | data set | ours | published IGN |
  |---|---|---|
  | MUTAG | 83.9 ± 7.6 | 83.9 |
  | PTC | 62.1 ± 6.9 | 58.5 |
  | IMDB-B | 73.4 ± 5.0 | 72.0 |
  | IMDB-M | 51.7 ± 2.9 | 48.7 |
  | NCI1 | 74.0 ± 2.8 (10 × 150; 10 × 50 gave 69.9) | 74.3 |
  | PROTEINS | 76.2 ± 4.0 (10 × 40, Maron's schedule; 10 × 50: 74.9; IGN-paper 75.9) | 76.6 |

  On the last epoch, IGN reaches 80.6 / 59.1 / 71.1 / 51.7 on MUTAG, PTC, IMDB-B and IMDB-M.
  *NCI1 needed epochs*: 10 × 50 gave 69.9 ± 2.6; 10 × 150 (lr halved at 75) gives 74.0 ±
  2.8 at epoch 148 (last 73.1). Its fold-averaged curve is 69.1 / 71.2 / 72.4 % at epochs 50 /
  75 / 100 and still climbs at 150. More epochs do not close the last 0.3 points: a 10 × 180
  run (lr halved at 90; 2026-12-04, faster layers, 5.6–8.5 s an epoch on the shared CPU) was
  stopped for time after 6 folds (1–3, 6–8); on those folds its fold-averaged curve peaks at
  72.6 (epoch 176), against 73.1 for the 150-epoch run on the same folds, and no row is
  written. Fold 8 peaks at 67.6 in both runs, the others at 73.5–78.3. Maron et al.'s NCI1
  learning rate and decay (2.56e-3, ×0.7 every 20 epochs; `--lr 0.00256 --lr-step 20
  --lr-gamma 0.7`) with our model and batch 32 over 100 epochs (2026-12-04) was stopped after
  7 folds (1–3, 6–9) once it was clearly behind: its fold-averaged curve reaches 70.5 at
  epoch 100 (best 71.3, epoch 97) against 73.6 for the 150-epoch row on the same folds (72.0
  within its first 100 epochs). No row is written. Their whole NCI1 set-up, batch 5 as well
  and 99 epochs (`--batch-size 5`, 2026-12-04, all 10 folds, 8.4 s an epoch), does worse:
  69.4 ± 7.2 at epoch 98 (last 69.0), against 72.9 within the first 99 epochs of the row's
  recipe. At this step size our model gets stuck on some folds: fold 4 never leaves one class
  (48–52 % for all 99 epochs) and folds 3 and 8 stay at 62–66 %; without fold 4 the curve
  peaks at 71.3. No row is written; `--fold-cache /tmp/s17/fc` kept the curves.
  A second seed of the row's recipe (`--seed 1`, 10 × 150, 2026-12-04, 4.8 s an epoch,
  written outside the table) gives 72.9 ± 3.4 at epoch 144 (last 72.6 ± 3.9), 1.1 under
  seed 0: so NCI1 falls short of the published 74.3 by 0.3 (seed 0) to 1.4 (seed 1) points.
  *PROTEINS*, two recipes, both with our small IGN (hidden 16, sum readout), 10 folds:
  * ours (batch 32, lr 0.001 halved at 25, 50 epochs): peaks at the last epoch, 74.9 ± 5.0;
    the fold-averaged curve reads 74.2 / 74.1 / 74.3 / 74.9 % at epochs 9 / 15 / 40 / 50
    and swings by up to 8 points between neighbouring epochs before the lr halves.
  * the row: Maron et al.'s PROTEINS training settings from their repository's 10-fold
    config (batch 5, lr 6.4e-4 decayed ×0.7 every 20 epochs; `--batch-size 5 --lr 0.00064
    --lr-step 20 --lr-gamma 0.7`), run for 40 epochs where their config stops at 20:
    76.2 ± 4.0 at epoch 37 (last 74.0 ± 5.7); 75.2 at epoch 20, where their config stops.
    Second recipe tried, not tuned further; the schedule is theirs, not chosen on our folds.
    Seed 1 (`--seed 1`, 2026-12-04, written outside the table) gives 76.4 ± 5.8 at epoch 36
    (last 75.1 ± 4.4; 74.8 at epoch 20), so the row is not a lucky seed. Seed 2 (`--seed 2`,
    2026-12-05, written outside the table, declared before the run as a third seed to
    average, 6.6 s an epoch on two cores) gives 75.7 ± 4.6 at epoch 31 (last 75.0 ± 4.8;
    72.7 at epoch 20). Over the three seeds the best-epoch figure averages 76.1 (75.7–76.4),
    0.5 under 76.6; every seed stays 0.2–0.9 under it.
  * Training on with the same schedule (60 epochs, a third decay at 40; 2026-12-04, both
    seeds, `--epochs`-only change) does not close it: the first 40 epochs repeat the 40-epoch
    runs exactly, and epochs 41–60 are steadier but lower at their peak: fold-averaged mean
    75.0 (seed 0) / 75.9 (seed 1) over 41–60, peak 75.7 / 76.3, so the best epoch stays 37
    (76.2) / 36 (76.4); last epoch 74.9 ± 4.7 / 76.1 ± 4.6. No row is changed.
  * The 0.4-point gap is 0.3 of the standard error of the 10-fold mean (sample std 4.2 over
    10 folds: t = −0.3), well inside fold noise, but it is a shortfall as measured.
  * **Their own model does no better here: IGN-paper 75.9 ± 4.6** (the row; 2026-12-04).
    Maron et al.'s 10-fold PROTEINS set-up whole: widths 16 / 32 / 256, max readout, fully
    connected 512 / 256 (`hidden_channels=(16, 32, 256)`), batch 5, lr 6.4e-4, 20 epochs
    (their config's epoch count, so the ×0.7 decay at 20 never acts). Its best fold-averaged
    epoch is the last: 75.9 at epoch 20. The curve reads 71.7 / 75.3 / 72.5 / 75.6 % at
    epochs 1 / 5 / 10 / 16. Our small IGN at epoch 20 of its row was 75.2. So the authors'
    model and schedule, run through our layers and splits, also stay under 76.6, by 0.7.
    The shortfall is as measured, but it is not a defect of our smaller model.
    The run took 1 h 40 min as two processes (`--only-folds 1-5` / `6-10`), 50 s an epoch.
    With the earlier amax readout it had been timed at 186 s an epoch (40 batches, an
    earlier session) and 138 s (fold 1's first epoch, beside another run), before the max
    readout was rewritten to read its maxima by index (`dense_readout`; amax's backward had
    made full-size passes); the timings shared the CPU, so the ratio is rough.
    Folds 1 and 6 were stopped after epochs 1 and 2 and resumed from their checkpoints
    (`--fold-cache` keeps `*.ckpt`) under the new readout. Its forward values are the same,
    and its parameter gradient equals amax's (tested), up to rounding.
* **Goal "PPGN on MUTAG / PROTEINS": met on MUTAG; on PROTEINS our PPGN with Maron et al.'s
  IGN PROTEINS schedule gets 76.8 best-epoch over 100 epochs (last epoch 76.7), 0.4 short of
  77.2.**
  * PROTEINS, our PPGN (the row; 2026-12-05): **76.8 ± 6.1** best-epoch (epoch 56), last
    epoch 76.7 ± 4.0: our default PPGN (hidden 16, sum readout, products divided by n, MLP
    head) trained with the recipe of the IGN row (batch 5, lr 6.4e-4 ×0.7 every 20 epochs)
    for 100 epochs, the PPGN authors' PROTEINS epoch count; declared before the run and run
    once (seed 0). The best-epoch protocol can only rise with more epochs, so the last
    epoch is given beside it: both are above our IGN (76.2) and PPGN-paper (75.5) here, and
    both are under the published 77.2. The fold-averaged curve reads 72.6 / 74.4 / 76.0 /
    75.0 / 75.0 / 75.2 / 75.0 / 75.9 / 74.8 / 76.7 % at epochs 10 / 20 / … / 100; only
    epochs 56–58 and 100 are above 76.5. Its first 40 epochs repeat the earlier 40-epoch run
    of the same recipe exactly (76.5 ± 4.8 at epoch 38, last 75.0 ± 5.5; that row is
    replaced by this one). Each fold's own best over 100 epochs against over the first 40,
    folds 1–10: 75.7 / 74.8, 82.0 / 81.1, 73.0 / 73.0, 83.8 / 83.8, 75.7 / 74.8, 73.9 /
    73.9, 84.7 / 83.8, 82.9 / 82.9, 75.7 / 75.7, 81.1 / 80.2: later epochs add at most 0.9
    on any fold.
  * The row's s/epoch (19.1) is not a timing figure: the run went on from checkpoints over
    two sessions as two or three processes (`--only-folds`, one `--fold-cache`) on two cores,
    with jemalloc preloaded (`LD_PRELOAD=libjemalloc.so.2`) under two `MALLOC_CONF`
    settings. The 40-epoch run had `MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1,
    retain:true` (one epoch of fold 1 took 17 s with it and 20 s without, 4.4 s of system
    time against 7.3 s; 10.8 s an epoch over that run). Those settings never hand freed
    memory back: in this 100-epoch run each process grew to 15–16 GB within 2–4 folds, one
    was killed for memory and the other slowed to 43 s an epoch. The rest ran with
    `LD_PRELOAD` and no `MALLOC_CONF`: under 1.5 GB a process. Folds 3, 4, 5 and 10 ran
    wholly so, two processes at a time, at 19.5 / 19.4 / 18.3 / 11.3 s an epoch: under one
    setting the folds differ by up to 1.7×, so this run cannot tell whether that
    `MALLOC_CONF` speeds training. Per-fold means over the whole run: 10.6–43.1 s.
  * MUTAG: **PPGN-paper 92.2 ± 7.5** best-epoch (epoch 372), last epoch 90.6 ± 8.3, against
    the published 90.6 (2026-12-04; the row: hidden 32, lr 1e-4, batch 5, 400 epochs with lr
    halved at 200; the two halves of the folds ran as two processes with `--only-folds 1-5` /
    `6-10` and one `--fold-cache`, 0.54 s an epoch). The authors' learning rate and batch,
    trained long enough, are what closes the gap: the fold-averaged curve reads 83.9 / 86.1 /
    86.1 / 87.8 % at epochs 50 / 150 / 250 / 300 and peaks late (one run, seed 0).
  * Before that run, the closest was 89.4 ± 7.6 best-epoch (last 87.8 ± 8.5; hidden 32, lr
    0.001, batch 8, 100 epochs; 2026-12-03), 1.2 points under. PPGN-paper is the head
    of the PPGN authors' code (hadarser/ProvablyPowerfulGraphNetworks: diagonal/off-diagonal
    max readout of every block, one linear head per block, summed; unnormalised products;
    they use batch 5, width 400, lr 1e-4 and 500 epochs on MUTAG). A pilot with the same
    model and no lr decay over 200 epochs gave 88.9 ± 7.5 best-epoch (epoch 55), 86.1 last.
    The authors' batch of 5 (2026-12-04, otherwise the same, `--batch-size 5`, written
    outside the table) gives 89.4 ± 6.8 best-epoch (epoch 63), 85.6 last: no gain.
    Four more runs (2026-12-04, written outside the table, `--out` elsewhere): other seeds
    (`--seed 1`, `--seed 2`: fold k trains with torch seed k + 100 · seed) give 89.4 ± 5.8
    (epoch 96) and 89.4 ± 3.9 (epoch 100), last 87.8 and 89.4, so 89.4 is stable over seeds;
    hidden 64 gives 87.2 ± 9.0 (epoch 82), last 85.6; 200 epochs (lr halved at 100) gives
    89.4 ± 8.0 (epoch 103), last 85.0. None reaches 90.6.
  * MUTAG with our default head: 85.6 ± 6.2 at hidden 32 and lr 0.001, against the published 90.6.
    At lr 0.01 it gets 85.0 at hidden 16 and at hidden 32; hidden 32 raises the last-epoch
    accuracy from 80.6 to 85.0. Hidden 64 at lr 0.001 (2026-12-03, `--hidden 64`, written
    outside the table) gives 85.6 ± 5.7 best-epoch again (last epoch 82.8 ± 9.8, 1.06 s an
    epoch), so width is not what separates us from 90.6.
  * PROTEINS, on this CPU (the row; 2026-12-05): **PPGN-paper 75.5 ± 4.9** best-epoch
    (epoch 27), last epoch 74.2 ± 4.7, after 35 of the 100 epochs of the same settings as the
    GPU run below. Two processes (`--only-folds 1-5` / `6-10`) advanced every fold five
    epochs a round with `--until-epoch 5, 10, …, 35` and one `--fold-cache`; the row's
    command read the ten checkpoints back. With `--lr-step 20` the first 35 epochs are
    exactly a 35-epoch run. The fold-averaged curve reads 71.4 / 73.7 / 75.2 / 74.8 /
    75.5 / 74.4 % at epochs 3 / 10 / 15 / 20 / 27 / 30: the best epoch after the lr halving
    at epoch 20 (75.5) is only 0.2 above the best before it (75.3, epoch 19). The rounds
    went on to epochs 40–45 in that session (fold-averaged 74.1 / 75.2 / 74.0 / 73.7 / 74.4 %
    at epochs 36–40, none above 75.5; not in the row), but the checkpoints lived in `/tmp`
    of a machine that was replaced before the next session: finishing the 100 epochs now
    means starting again, about 10 h of a core (or about 35 min of an H200).
  * PROTEINS, the earlier GPU run: **PPGN-paper 74.9 ± 4.6** best-epoch (epoch 7; last
    epoch, 19, also 74.9),
    against the published 77.2. The run (2026-12-04) had the authors' PROTEINS settings
    from their repository (batch 5, lr 1e-3 halved every 20 epochs, 100 epochs) at our MUTAG
    width, hidden 32 (theirs: 400, which would have cost about 150× the channel-mixing
    work). It ran on one NVIDIA H200 lent for 15 minutes (torch 2.11.0+cu130, torch_geometric
    2.8.0): all ten folds at once as ten processes, beside ten IGN-paper processes, each
    stopped after 420 s. Every fold reached epoch 19, so its row (replaced by the CPU row
    above, which goes further; command: `--datasets PROTEINS:10:19 --device cuda`, other
    settings the same) was the first 19 epochs of each curve; the lr had not yet decayed,
    so these are exactly a 19-epoch run's numbers. Its
    s/epoch (19.8) is one H200 shared by twenty processes. The fold-averaged curve reads
    70.5 / 74.9 / 74.8 / 74.9 % at epochs 3 / 7 / 10 / 19: flat after epoch 7 at this lr, so
    the authors' decays at 20, 40, … were then untried (the CPU run above reaches past
    the first).
  * IGN-paper (Maron et al.'s own IGN: widths 16 / 32 / 256, max readout, fully connected
    512 / 256, their PROTEINS schedule) in the same lease reached only 4 of its 20 epochs
    (83 s an epoch on the shared GPU; three folds ran out of GPU memory with twenty
    processes on the card): 73.1–73.6 % fold-averaged over the 7 folds left, not a row.
* **GIN is trained its paper's way** (2026-12-04/05; Xu et al. 2019 §7 and their code's
  defaults): Adam lr 0.01 halved every 50 epochs, 350 epochs of 50 batches of 32 graphs,
  each batch drawn afresh (`--iters-per-epoch 50 --lr-step 50`), dropout 0.5, hidden 32;
  hidden 64 on IMDB-B and IMDB-M, as their paper fixes for social graphs. Batch, width and
  dropout are values from their grid, fixed for all data sets, not chosen per data set as
  they did. It gets MUTAG 88.9, PTC 63.8, PROTEINS 75.3, NCI1 80.8, IMDB-B 75.7, IMDB-M 51.1,
  against the published 89.4 / 64.6 / 76.2 / 82.7 / 75.1 / 52.3.
  * These rows replace GIN trained our default way (one pass of size-bucketed batches an
    epoch, lr halved once, 15–150 epochs), which had given 86.7 / 61.5 / 72.5 / 75.8 / 72.3
    / 47.7: that baseline was weaker than its paper.
  * One pass of uniformly random batches an epoch with the same schedule (`--lr-step 50`
    only; written outside the table) gives PROTEINS 75.3 (epoch 54), NCI1 80.0, IMDB-B 75.6
    and IMDB-M 50.7, so the sampled epochs are not what lifts GIN: the longer schedule and
    the random batches are (those two were not separated).
  * Against this baseline IGN is ahead on PROTEINS (76.2 vs 75.3) and IMDB-M (51.7 vs
    51.1), and behind on MUTAG (83.9 vs 88.9), PTC (62.1 vs 63.8), NCI1 (74.0 vs 80.8) and
    IMDB-B (73.4 vs 75.7). The published figures order them the same way on five of the six
    sets; the exception is IMDB-M, where GIN's 52.3 is above IGN's 48.7. PPGN-paper is
    ahead of GIN on MUTAG (92.2), and our PPGN on PROTEINS (76.8 over 100 epochs).
  * GIN's best epoch is picked among 350, IGN's among 30–150, which favours GIN a little
    under the best-epoch protocol. A GIN epoch is 50 batches, not a pass over the training
    set, and the runs shared two cores with up to two other runs, so its s/epoch compares
    with no other row.
  * No model reaches its paper everywhere here, so the fair reading is the comparison
    between models in one script, not with the anchors.
* **Expressivity agrees with theory.**
  * PPGN (3-WL) separates every EXP pair and every graph8c pair.
  * The order-2 IGN and GIN (1-WL) separate no EXP pair.
  * On graph8c, IGN leaves 4,870 pairs and GIN 1,336, against 312 for 1-WL itself: a random
    network at width 16 and tolerance 1e-9 falls short of the bound.
  * IGN-3 (2 → 3 → 3 → 2 diagram layers) separates every graph8c pair, like 3-WL, and 257 of
    the 600 EXP pairs. Its single 3 → 3 layer gives one round of refinement, and EXP needs more.
  * The IGN-3 column comes from `bench_pyg.py --datasets --models IGN-3 --merge`, the others
    from the first full run.
"""


#: the settings of most rows; the table names a row's other settings in its model cell
DEFAULTS = {"lr": 1e-2, "hidden": 16, "gin_hidden": 32, "batch_size": 32}


class GIN(nn.Module):
    """GIN-0 (Xu et al. 2019, §4 and §7): MLP(sum of neighbours + self), BN, sum readout of
    every layer (jumping knowledge), one linear head per layer, dropout before the heads."""

    def __init__(self, in_channels, hidden, out_channels, num_layers=4, dropout=0.5):
        super().__init__()
        self.convs = nn.ModuleList()
        widths = [in_channels] + [hidden] * num_layers
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            mlp = nn.Sequential(nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU(), nn.Linear(b, b),
                                nn.BatchNorm1d(b), nn.ReLU())
            self.convs.append(GINConv(mlp, train_eps=False))
        self.heads = nn.ModuleList(nn.Linear(w, out_channels) for w in widths)
        self.dropout = nn.Dropout(dropout)

    def forward(self, data):
        h, out = data.x, 0
        for index, head in enumerate(self.heads):
            if index:
                h = self.convs[index - 1](h, data.edge_index)
            out = out + self.dropout(head(global_add_pool(h, data.batch, data.num_graphs)))
        return out


def make_model(name, in_channels, classes, hidden, gin_hidden=None, dtype=torch.float32):
    if name == "IGN":
        return InvariantGraphNetwork(in_channels, hidden, classes, num_layers=3, readout="sum",
                                     mlp_channels=(2 * hidden,), dtype=dtype)
    if name == "IGN-3":  # 2→3, 3→3, 3→2 layers (52 + 203 + 52 diagrams)
        return ign3(in_channels, hidden, classes, dtype=dtype)
    if name == "IGN-paper":  # Maron et al.'s 10-fold config: widths 16/32/256, max, FC 512/256
        return InvariantGraphNetwork(in_channels, (16, 32, 256), classes, readout="max",
                                     mlp_channels=(512, 256), dtype=dtype)
    if name == "PPGN":
        return PPGN(in_channels, hidden, classes, num_blocks=3, depth=2, readout="sum",
                    mlp_channels=(2 * hidden,), dtype=dtype)
    if name == "PPGN-paper":  # the authors' code: max readout, a linear head per block, no s(n)
        return ppgn_paper(in_channels, hidden, classes, dtype=dtype)
    if name == "GIN":
        return GIN(in_channels, gin_hidden or hidden, classes).to(dtype)
    raise ValueError(name)


def training_batches(name, indices, sizes, args, generator):
    """One epoch's batches of ``indices``.

    With ``args.iters_per_epoch`` = K: K batches, each a fresh uniform sample of
    ``args.batch_size`` graphs (Xu et al.'s GIN code, whose epoch is 50 such batches).
    Otherwise one pass over ``indices``: uniformly random batches for GIN (a sparse model has
    no padding to save), batches of similar size for the dense models: size-sorted with a
    jitter (``--batching jitter``, the recorded rows) or ``SizeAwareBatchSampler``'s
    (``--batching size-aware``, bounded padding).
    """
    if args.iters_per_epoch:
        return [indices[torch.randperm(len(indices), generator=generator)[:args.batch_size]]
                for _ in range(args.iters_per_epoch)]
    if name == "GIN":
        return list(torch.split(indices[torch.randperm(len(indices), generator=generator)],
                                args.batch_size))
    if getattr(args, "batching", "jitter") == "size-aware":
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        power = 3 if name.startswith("PPGN") or name == "IGN-3" else 2
        sampler = SizeAwareBatchSampler(sizes[indices], args.batch_size, power=power,
                                        seed=seed)
        return [indices[torch.tensor(batch)] for batch in sampler]
    return bucketed_batches(indices, sizes, args.batch_size, generator)


def bucketed_batches(indices, sizes, batch_size, generator):
    """Batches of graphs of similar size (less padding; the models ignore padding anyway),
    in random order; sizes are jittered so the batches change between epochs."""
    jitter = torch.rand(len(indices), generator=generator) * 4.0
    order = indices[torch.argsort(sizes[indices].float() + jitter)]
    batches = list(torch.split(order, batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator)]


def run_fold(name, graphs, sizes, train, test, args, seed, epochs, progress=None,
             checkpoint=None, stop_epoch=None):
    """One fold's training: the test accuracy (%) after each epoch and the mean training
    seconds per epoch; ``progress(accuracies, epoch_s)`` is called after every epoch.
    ``stop_epoch`` (with ``checkpoint``) stops after that epoch of the ``epochs``-epoch
    schedule, for a later run to resume; the curve and time are then those of its first
    ``stop_epoch`` epochs, even when the checkpoint had gone further.

    With ``checkpoint`` (a path), the whole training state is saved there after every epoch
    and a run finding it resumes from it: a fold stopped and restarted gives the same curve as
    one run straight through (same device and versions), so long folds can span several runs.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    classes = int(max(int(g.y) for g in graphs)) + 1
    model = make_model(name, graphs[0].x.shape[1], classes, args.hidden, args.gin_hidden)
    model = model.to(args.device)
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.StepLR(optimiser, step_size=lr_step(args, epochs),
                                               gamma=args.lr_gamma)
    state = {"model": model, "optimiser": optimiser, "schedule": schedule,
             "generator": generator, "accuracies": [], "epoch_times": []}
    if checkpoint is not None and checkpoint.exists():
        load_training_state(checkpoint, state, args.device)
    accuracies, epoch_times = state["accuracies"], state["epoch_times"]
    test_batches = [Batch.from_data_list([graphs[i] for i in b]).to(args.device)
                    for b in torch.split(test[torch.argsort(sizes[test])], 64)]
    last = min(epochs, stop_epoch or epochs)
    while len(accuracies) < last:
        model.train()
        start = time.perf_counter()
        for chunk in training_batches(name, train, sizes, args, generator):
            batch = Batch.from_data_list([graphs[i] for i in chunk]).to(args.device)
            loss = nn.functional.cross_entropy(model(batch), batch.y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        schedule.step()
        if torch.device(args.device).type == "cuda":  # time the epoch's kernels, not launches
            torch.cuda.synchronize(args.device)
        epoch_times.append(time.perf_counter() - start)
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(b).argmax(1) == b.y).sum()) for b in test_batches)
        accuracies.append(100.0 * correct / len(test))
        if checkpoint is not None:
            save_training_state(checkpoint, state, args.device)
        if progress is not None:
            progress(accuracies, statistics.mean(epoch_times))
    return accuracies[:last], statistics.mean(epoch_times[:last])


def save_training_state(path, state, device):
    """Write ``state`` (model, optimiser, schedule, batch-order generator, curve so far) and
    the global RNG states to ``path``, atomically (a stop mid-write keeps the previous one)."""
    saved = {key: value.state_dict() if hasattr(value, "state_dict") else value
             for key, value in state.items() if key != "generator"}
    saved["generator"] = state["generator"].get_state()
    saved["torch_rng"] = torch.get_rng_state()
    if torch.device(device).type == "cuda":
        saved["cuda_rng"] = torch.cuda.get_rng_state(device)
    scratch = path.with_suffix(".tmp")
    torch.save(saved, scratch)
    scratch.replace(path)


def load_training_state(path, state, device):
    """Restore into ``state`` what :func:`save_training_state` wrote to ``path``."""
    saved = torch.load(path, map_location=device, weights_only=False)
    for key in ("model", "optimiser", "schedule"):
        state[key].load_state_dict(saved[key])
    state["generator"].set_state(saved["generator"])
    state["accuracies"].extend(saved["accuracies"])
    state["epoch_times"].extend(saved["epoch_times"])
    torch.set_rng_state(saved["torch_rng"])
    if "cuda_rng" in saved:
        torch.cuda.set_rng_state(saved["cuda_rng"], device)


def classify(spec, args, log):
    """``spec`` = ``NAME[:folds[:epochs]]`` (defaults ``--folds``, ``--epochs``)."""
    dataset, *rest = spec.split(":")
    folds = int(rest[0]) if rest else args.folds
    epochs = int(rest[1]) if len(rest) > 1 else args.epochs
    graphs = load_s2v(dataset)
    sizes = torch.tensor([g.num_nodes for g in graphs])
    splits = s2v_splits(dataset)[:folds]
    row_epochs = min(epochs, args.until_epoch or epochs)
    row = {"dataset": dataset, "graphs": len(graphs), "folds": len(splits),
           "epochs": row_epochs, "models": {}}
    for name in args.models:
        curves, times = [], []
        for fold, (train, test) in enumerate(splits):
            cached = fold_cache_path(args, dataset, name, fold, len(splits), epochs)
            if cached is not None and cached.exists():
                saved = json.loads(cached.read_text())
                accuracies, epoch_time = saved["accuracies"], saved["epoch_s"]
            elif args.only_folds and fold + 1 not in args.only_folds:
                continue
            else:
                checkpoint = None if cached is None else cached.with_suffix(".ckpt")
                accuracies, epoch_time = run_fold(name, graphs, sizes, train, test, args,
                                                  fold + 100 * args.seed, epochs,
                                                  partial_saver(cached), checkpoint,
                                                  stop_epoch=row_epochs)
                if cached is not None and len(accuracies) == epochs:
                    store_finished_fold(cached, accuracies, epoch_time)
            accuracies = accuracies[:row_epochs]
            curves.append(accuracies)
            times.append(epoch_time)
            log(f"{dataset} {name} fold {fold + 1}: final {accuracies[-1]:.1f}% "
                f"({epoch_time:.2f} s/epoch)")
        if len(curves) < len(splits):
            log(f"{dataset} {name}: {len(curves)} of {len(splits)} folds done; the row is "
                "written once a run finds every fold in --fold-cache")
            continue
        final = [c[-1] for c in curves]
        mean_curve = [statistics.mean(c[e] for c in curves) for e in range(row_epochs)]
        best_epoch = max(range(row_epochs), key=mean_curve.__getitem__)
        best = [c[best_epoch] for c in curves]
        row["models"][name] = {
            "final": (statistics.mean(final), statistics.pstdev(final)),
            "best_epoch": best_epoch + 1,
            "best": (statistics.mean(best), statistics.pstdev(best)),
            "epoch_s": statistics.mean(times),
            "lr": args.lr, "hidden": hidden_channels(args, name),
            "batch_size": args.batch_size, "lr_step": args.lr_step, "lr_gamma": args.lr_gamma,
            "device": args.device, "iters_per_epoch": args.iters_per_epoch,
        }
        if row_epochs < epochs:
            row["models"][name]["schedule_epochs"] = epochs
    return row


def partial_saver(cached):
    """With ``--fold-cache``: a callback keeping the curve so far beside the fold's cache file
    (``*.partial``), so a run stopped early still shows how far it got."""
    if cached is None:
        return None
    partial = cached.with_suffix(".partial")
    return lambda accuracies, epoch_s: write_curve(partial, accuracies, epoch_s)


def store_finished_fold(cached, accuracies, epoch_s):
    """Keep a finished fold's curve in ``cached`` and drop its training state and running
    curve (``*.ckpt``, ``*.partial``), which only served to resume it."""
    write_curve(cached, accuracies, epoch_s)
    for suffix in (".ckpt", ".partial"):
        cached.with_suffix(suffix).unlink(missing_ok=True)


def write_curve(path, accuracies, epoch_s):
    """One fold's accuracy curve and seconds per epoch, as the fold cache keeps them."""
    path.write_text(json.dumps({"accuracies": accuracies, "epoch_s": epoch_s}))


def lr_step(args, epochs):
    """Epochs between learning-rate decays: ``--lr-step``, or half of the epochs."""
    return args.lr_step or max(1, epochs // 2)


def hidden_channels(args, name):
    """The width ``name`` trains at: ``--gin-hidden`` for GIN, IGN-paper's own, ``--hidden``
    for the others."""
    if name == "IGN-paper":
        return "16-32-256"
    return args.gin_hidden if name == "GIN" else args.hidden


def fold_cache_path(args, dataset, name, fold, folds, epochs):
    """Where one fold's accuracy curve is kept with ``--fold-cache`` (None without it): the
    name holds every setting that changes the curve, so a cached fold is only reused as is."""
    if args.fold_cache is None:
        return None
    key = (f"{dataset}-{name}-fold{fold + 1}of{folds}-epochs{epochs}-seed{args.seed}-"
           f"lr{args.lr:g}-hidden{hidden_channels(args, name)}-batch{args.batch_size}")
    if args.lr_step is not None or args.lr_gamma != 0.5:  # older caches: the default schedule
        key += f"-step{lr_step(args, epochs)}-gamma{args.lr_gamma:g}"
    if args.iters_per_epoch:
        key += f"-iters{args.iters_per_epoch}"
    if args.device != "cpu":
        key += f"-{args.device.replace(':', '')}"
    key += ".json"
    Path(args.fold_cache).mkdir(parents=True, exist_ok=True)
    return Path(args.fold_cache) / key


def fold_numbers(text):
    """``"1-5"`` -> {1, 2, 3, 4, 5}; ``"2,7"`` -> {2, 7} (1-based fold numbers)."""
    numbers = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        numbers.update(range(int(first), int(last or first) + 1))
    return numbers


def merged_rows(saved, fresh):
    """The saved classification rows with this run's rows in: a rerun model replaces its
    saved result; the data set's other models stay, in the same row when they ran at the same
    folds and epochs as this run, else in a row of their own (the table names each row's
    budget). A fresh row takes the place of its data set's saved row."""
    fresh = {row["dataset"]: row for row in fresh}
    layout = []  # saved rows kept, and the names of the data sets whose fresh row goes there
    for row in saved:
        name = row["dataset"]
        if name not in fresh:
            layout.append(row)
            continue
        kept = {k: {"command": row.get("command"), **v} for k, v in row["models"].items()
                if k not in fresh[name]["models"]}
        if (row["folds"], row["epochs"]) == (fresh[name]["folds"], fresh[name]["epochs"]):
            fresh[name] = {**fresh[name], "models": {**kept, **fresh[name]["models"]}}
        elif kept:
            layout.append({**row, "models": kept})
        if name not in layout:
            layout.append(name)
    rows = [fresh.pop(entry) if isinstance(entry, str) else entry for entry in layout]
    return rows + list(fresh.values())


def undistinguished_pairs(outputs, pairs=None, rel_tol=1e-9):
    """Pairs with ``max |f(G) - f(H)| <= rel_tol · max |f|`` (all pairs when ``pairs`` is None)."""
    tol = rel_tol * float(outputs.abs().max())
    if pairs is not None:
        return int(((outputs[pairs[:, 0]] - outputs[pairs[:, 1]]).abs().amax(1) <= tol).sum())
    count = 0
    for start in range(0, len(outputs), 512):
        block = torch.cdist(outputs[start : start + 512], outputs, p=float("inf"))
        close = block <= tol
        rows = torch.arange(start, start + len(block))[:, None]
        count += int((close & (torch.arange(len(outputs))[None, :] > rows)).sum())
    return count


def embed(model, graphs, batch_size=256):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(Batch.from_data_list(graphs[i : i + batch_size]))
                          for i in range(0, len(graphs), batch_size)])


def expressivity(args, log):
    rows = []
    for dataset, loader in (("EXP", load_exp), ("graph8c", load_graph8c)):
        graphs = loader()
        for g in graphs:
            g.x = g.x.double()
        if dataset == "EXP":
            pairs = torch.arange(len(graphs)).reshape(-1, 2)
            total = len(pairs)
        else:
            pairs, total = None, len(graphs) * (len(graphs) - 1) // 2
        row = {"dataset": dataset, "pairs": total, "models": {}}
        for name in args.models:
            torch.manual_seed(0)
            model = make_model(name, graphs[0].x.shape[1], 16, 16, dtype=torch.float64)
            start = time.perf_counter()
            # order-3 features take n³ · 16 doubles per graph (33 MB at EXP's n = 64)
            outputs = embed(model, graphs, batch_size=8 if name == "IGN-3" else 256)
            row["models"][name] = (undistinguished_pairs(outputs, pairs),
                                   time.perf_counter() - start)
            log(f"{dataset} {name}: {row['models'][name][0]} of {total} pairs not distinguished")
        rows.append(row)
    return rows


def markdown(command, args, classification, separation):
    lines = ["## Equivariant GNNs (geomlayers.pyg) vs PyG GIN", "",
             provenance(command), "",
             f"Training (defaults; a row's other settings are named in its model cell): Adam lr "
             f"{DEFAULTS['lr']} halved after half of the epochs, batch "
             f"{DEFAULTS['batch_size']} (size-bucketed; GIN: uniformly random), hidden "
             f"{DEFAULTS['hidden']} (GIN: "
             f"{DEFAULTS['gin_hidden']}, its paper's size), float32; otherwise the "
             "same for all models. IGN: 3 masked 2→2 diagram layers (15 diagrams), "
             "diagonal/off-diagonal sum readout, MLP. IGN-3: orders 2→3→3→2 "
             "(52 + 203 + 52 diagrams). IGN-paper: Maron et al.'s 10-fold model (2→2 layers "
             "of widths 16 / 32 / 256, diagonal/off-diagonal max readout, fully connected "
             "512 / 256). PPGN: 3 blocks (MLP depth 2), sum "
             "readout of every block, MLP. PPGN-paper: the PPGN authors' code's head "
             "(diagonal/off-diagonal max readout of every block, one linear head per block, "
             "summed) and unnormalised products. GIN-0: 4 GINConv layers with BN, sum readout of "
             "every layer, dropout 0.5 (its paper's set-up; its paper's training where the cell "
             "says 50 sampled batches an epoch and lr ×0.5 every 50 epochs). Accuracy (%) "
             "mean ± std over the folds: *last* = last epoch; *best-epoch* = the epoch with "
             "the best fold-averaged test accuracy (the papers' protocol, optimistic). "
             "Time: training seconds per epoch (1 thread, shared CPU).", "",
             "| dataset | graphs | folds | epochs | model | last epoch | best-epoch (epoch) "
             "| s/epoch | paper (IGN / PPGN / GIN) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in classification:
        ign, ppgn = ANCHORS[row["dataset"]]
        paper = f"{ign} / {ppgn} / {GIN_PAPER[row['dataset']]}"
        for name, r in row["models"].items():
            default_hidden = DEFAULTS["gin_hidden" if name == "GIN" else "hidden"]
            settings = (("lr", DEFAULTS["lr"]), ("hidden", default_hidden),
                        ("batch_size", DEFAULTS["batch_size"]))
            changed = [f"{key.replace('_size', '')} {r[key]}" for key, default in settings
                       if r.get(key, default) != default]
            if r.get("lr_step") or r.get("lr_gamma", 0.5) != 0.5:
                changed.append(f"lr ×{r['lr_gamma']:g} every {r['lr_step'] or 'half'} epochs")
            if r.get("iters_per_epoch"):
                changed.append(f"{r['iters_per_epoch']} sampled batches an epoch")
            if r.get("schedule_epochs"):
                changed.append(f"stopped at epoch {row['epochs']} of {r['schedule_epochs']}")
            if r.get("device", "cpu") != "cpu":
                changed.append(f"on {r['device']}")
            label = f"{name} ({', '.join(changed)})" if changed else name
            lines.append(
                f"| {row['dataset']} | {row['graphs']} | {row['folds']} | {row['epochs']} | "
                f"{label} | "
                f"{r['final'][0]:.1f} ± {r['final'][1]:.1f} | {r['best'][0]:.1f} ± "
                f"{r['best'][1]:.1f} ({r['best_epoch']}) | {r['epoch_s']:.2f} | {paper} |")
    commands = {}
    for row in classification:
        for name, r in row["models"].items():
            command = r.get("command") or row.get("command", "an earlier run")
            commands.setdefault(command, []).append(f"{row['dataset']} {name}")
    if len(commands) > 1:
        lines += ["", "Rows come from: " + "; ".join(f"{', '.join(v)}: `{k}`"
                                                    for k, v in commands.items()) + "."]
    if separation:
        lines += ["", "### Expressivity: pairs not distinguished at random init (float64)", "",
                  "Outputs (16 numbers per graph, hidden 16) equal within 1e-9 × the largest "
                  "output entry count as not distinguished. EXP: the 600 pairs (1-WL fails on "
                  "all); graph8c: all pairs of the 11,117 graphs (1-WL fails on 312 pairs, "
                  "3-WL on none: Balcilar et al. 2021, Table 1).", "",
                  "| benchmark | pairs | " + " | ".join(separation[0]["models"]) + " |",
                  "|---|---|" + "---|" * len(separation[0]["models"])]
        for row in separation:
            cells = " | ".join(f"{value[0]} ({value[1]:.0f} s)"
                               for value in row["models"].values())
            lines.append(f"| {row['dataset']} | {row['pairs']} | {cells} |")
    lines += ["", NOTES]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="*", default=["MUTAG", "PTC", "IMDBBINARY",
                                                          "IMDBMULTI"],
                        help="NAME[:folds[:epochs]] each")
    parser.add_argument("--models", nargs="*", default=["IGN", "PPGN", "GIN"])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=DEFAULTS["hidden"])
    parser.add_argument("--gin-hidden", type=int, default=DEFAULTS["gin_hidden"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    parser.add_argument("--lr-step", type=int, default=None,
                        help="epochs between learning-rate decays (default: half of the epochs)")
    parser.add_argument("--lr-gamma", type=float, default=0.5,
                        help="learning-rate factor at each decay (default 0.5)")
    parser.add_argument("--iters-per-epoch", type=int, default=None,
                        help="an epoch is this many batches, each a fresh random sample of "
                             "the training graphs (Xu et al.'s GIN: 50); default: one pass")
    parser.add_argument("--batching", choices=["jitter", "size-aware"], default="jitter",
                        help="batches of the dense models: size-sorted with a jitter (the "
                             "recorded rows) or SizeAwareBatchSampler's (bounded padding)")
    parser.add_argument("--device", default="cpu",
                        help="torch device to train on (e.g. cuda); default cpu")
    parser.add_argument("--seed", type=int, default=0,
                        help="fold k trains with torch seed k + 100 * seed (default 0: seed k)")
    parser.add_argument("--fold-cache", default=None,
                        help="folder keeping each fold's accuracy curve: folds found there "
                             "are read, not retrained; an unfinished fold's training state "
                             "(*.ckpt, saved every epoch) is resumed")
    parser.add_argument("--only-folds", type=fold_numbers, default=None,
                        help="train only these folds (e.g. 1-5), for splitting one "
                             "cross-validation over processes with --fold-cache; a row is "
                             "written by the run that finds all its folds")
    parser.add_argument("--until-epoch", type=int, default=None,
                        help="train each fold only up to this epoch of its schedule (resumed "
                             "from --fold-cache by a later run) and write the row of these "
                             "epochs, which are a run of this many epochs (needs --lr-step)")
    parser.add_argument("--no-expressivity", action="store_true")
    parser.add_argument("--out", default=str(RESULTS / "pyg.md"))
    parser.add_argument("--merge", action="store_true",
                        help="keep the existing results of the data sets and models not rerun, "
                             "and the expressivity table unless rerun")
    args = parser.parse_args(argv)
    if args.only_folds and args.fold_cache is None:
        parser.error("--only-folds needs --fold-cache, where the other folds' runs meet")
    if args.until_epoch is not None and (args.fold_cache is None or args.lr_step is None
                                         or args.until_epoch < 1):
        parser.error("--until-epoch K needs K >= 1, --fold-cache (to resume from) and "
                     "--lr-step (so that the first K epochs do not depend on the total)")
    torch.set_num_threads(1)
    command = ".venv/bin/python benchmarks/bench_pyg.py " + " ".join(argv or sys.argv[1:])

    def log(message):
        print(time.strftime("%H:%M:%S"), message, flush=True)

    separation = [] if args.no_expressivity else expressivity(args, log)
    classification = []
    for dataset in args.datasets:
        row = classify(dataset, args, log)
        row["command"] = command
        for result in row["models"].values():
            result["command"] = command
        if row["models"]:
            classification.append(row)
        save(args, command, classification, separation)
    save(args, command, classification, separation)


def merged_with_saved(out, classification, separation):
    """This run's rows merged into the results saved in ``out``'s JSON *now*.

    Reading the file at save time (not at start) lets runs of different data sets overlap
    without one dropping the other's rows.
    """
    path = Path(out).with_suffix(".json")
    if not path.exists():
        return classification, separation
    saved = json.loads(path.read_text())
    rows = merged_rows(saved["classification"], classification)
    rerun = {row["dataset"]: row for row in separation}
    kept_separation = saved["expressivity"]
    for row in kept_separation:  # models rerun now replace or join the saved ones
        row["models"].update(rerun.get(row["dataset"], {"models": {}})["models"])
    return rows, kept_separation


def save(args, command, classification, separation):
    """Write the markdown table and the JSON that ``--merge`` reads back.

    A run with no finished row (``--only-folds`` before the last fold) writes nothing: it
    would otherwise replace the saved results with an empty table.
    """
    if not classification and not separation:
        return
    if args.merge:
        classification, separation = merged_with_saved(args.out, classification, separation)
    Path(args.out).write_text(markdown(command, args, classification, separation))
    Path(args.out).with_suffix(".json").write_text(json.dumps(
        {"classification": classification, "expressivity": separation}, indent=1))


if __name__ == "__main__":
    main()
