"""Benchmark of the opinion grouping: 10,000 participants x 200 statements.

    .venv/bin/python -m bench.opinions [--participants 10000] [--statements 200]
        [--camps 4] [--seen 0.6] [--repeat 3]

Plants `--camps` camps of participants (each camp leans its own way on every statement,
one vote in ten goes the other way or is a pass), lets each participant see a random
`--seen` share of the statements, and times, on the same votes in the same run:

- the baseline: what any Polis-like grouping must do at least, the vote matrix built
  from the same mappings, PCA to two dimensions and one k-means with k fixed at 2
  (scikit-learn, the same calls `konsulta.opinions` makes, on one thread too);
- `konsulta.opinions.group_opinions`: the same plus the choice of k by silhouette
  (2..5) and the per-group, consensus and divisive statements;
- `konsulta.opinions.borda` on one top-three ranking per participant, per group.

For each: the median wall time of `--repeat` runs and the peak of Python memory
(tracemalloc, which sees numpy's arrays) in a separate traced run, with the ratio to
the baseline; then the adjusted Rand index of the groups found against the planted
camps, and the process's peak resident memory. Nothing is asserted (a timed assertion
would fail on a busy machine, not on slow code).
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from konsulta.opinions import AGREE, DISAGREE, PASS, borda, group_opinions


def planted(
    participants: int, statements: int, camps: int, seen: float, seed: int = 1
) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Votes of `camps` planted camps, and each participant's camp."""
    rng = random.Random(seed)
    leaning = [[rng.choice((AGREE, DISAGREE)) for _ in range(statements)] for _ in range(camps)]
    names = [f"s{s:03d}" for s in range(statements)]
    votes: dict[str, dict[str, int]] = {}
    truth: dict[str, int] = {}
    for n in range(participants):
        camp = n % camps
        participant = f"p{n:05d}"
        truth[participant] = camp
        row: dict[str, int] = {}
        for s in rng.sample(range(statements), max(1, round(statements * seen))):
            roll = rng.random()
            vote = leaning[camp][s]
            row[names[s]] = -vote if roll < 0.05 else PASS if roll < 0.1 else vote
        votes[participant] = row
    return votes, truth


def baseline(votes: dict[str, dict[str, int]]) -> Any:
    """The matrix, PCA to 2-D, one k-means with k = 2: the least a grouping does.

    On one native thread, as `group_opinions` runs, so the ratio compares the work.
    """
    participants = sorted(votes)
    statements = sorted({s for row in votes.values() for s in row})
    column = {s: j for j, s in enumerate(statements)}
    matrix = np.zeros((len(participants), len(statements)))
    for i, participant in enumerate(participants):
        for statement, vote in votes[participant].items():
            matrix[i, column[statement]] = vote
    with threadpool_limits(limits=1):
        points = PCA(n_components=2, svd_solver="full").fit_transform(matrix)
        return KMeans(n_clusters=2, n_init=10, random_state=0).fit_predict(points)


def measure(work: Callable[[], Any], repeat: int) -> tuple[float, int, Any]:
    """Median seconds of `repeat` runs, then the tracemalloc peak of one more."""
    times = []
    result = None
    for _ in range(repeat):
        began = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - began)
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak, result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--statements", type=int, default=200)
    parser.add_argument("--camps", type=int, default=4)
    parser.add_argument("--seen", type=float, default=0.6)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    began = time.perf_counter()
    votes, truth = planted(args.participants, args.statements, args.camps, args.seen)
    count = sum(len(row) for row in votes.values())
    print(
        f"planted {args.participants:,} participants x {args.statements} statements "
        f"in {args.camps} camps, {count:,} votes, in {time.perf_counter() - began:.1f} s"
    )

    base_time, base_peak, _ = measure(lambda: baseline(votes), args.repeat)
    group_time, group_peak, groups = measure(lambda: group_opinions(votes), args.repeat)
    rankings = {
        p: random.Random(n).sample(sorted(row), 3) for n, (p, row) in enumerate(votes.items())
    }
    borda_time, borda_peak, _ = measure(lambda: borda(rankings, groups), args.repeat)

    print(f"{'what':46} {'median':>9} {'x baseline':>11} {'peak memory':>12} {'x baseline':>11}")
    for label, seconds, peak in (
        ("baseline: matrix, PCA, k-means k=2", base_time, base_peak),
        ("group_opinions (k by silhouette, statements)", group_time, group_peak),
        ("borda, top three per participant, per group", borda_time, borda_peak),
    ):
        print(
            f"{label:46} {seconds:>8.2f}s {seconds / base_time:>10.2f}x "
            f"{peak / 2**20:>9.1f} MB {peak / base_peak:>10.2f}x"
        )
    found = [groups.group_of(p) for p in sorted(truth)]
    print(
        f"groups found: {len(groups.groups)} (sizes {[g.size for g in groups.groups]}), "
        f"adjusted Rand index against the planted camps "
        f"{adjusted_rand_score([truth[p] for p in sorted(truth)], found):.3f}, "
        f"{len(groups.consensus)} consensus, {len(groups.divisive)} divisive statements"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the process: {rss:.0f} MB")


if __name__ == "__main__":
    main()
