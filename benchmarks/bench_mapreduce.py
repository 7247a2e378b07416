"""Benchmark: the mean rating per movie with real processes (1 and 2) next to the simulation.

Runs the lesson 03 job (mapper, combiner, reducer over synthetic MovieLens
ratings) with ``dc.run_processes`` on 1 and on 2 processes, for a fixed data
size, and prints the measured wall time of each phase next to the simulated
cluster's times for the same job. Measured times depend on the machine and
its load; the output and the shuffle do not, so the benchmark checks that
every run gives exactly the direct computation's means and the same shuffle
bytes, and exits non-zero only when one does not.

Run: ``python benchmarks/bench_mapreduce.py [--ratings 200000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import sys

from labsupport import dc


def pair_mapper(rating: dict) -> list[tuple[int, tuple[int, int]]]:
    """(movie, (stars, 1)) for one rating."""
    return [(rating["movie"], (rating["rating"], 1))]


def add_pairs(movie: int, pairs: list[tuple[int, int]]) -> tuple[int, int]:
    """Sum the stars and the counts."""
    return (sum(s for s, _ in pairs), sum(n for _, n in pairs))


def mean_of_pairs(movie: int, pairs: list[tuple[int, int]]) -> float:
    """Total stars / total count."""
    total, n = add_pairs(movie, pairs)
    return total / n


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 1 when any output is wrong."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ratings", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    users = max(200, args.ratings // 20)
    data = dc.movielens(seed=0, users=users, movies=400, ratings=args.ratings)
    stars: dict[int, list[int]] = {}
    for r in data.ratings:
        stars.setdefault(r["movie"], []).append(r["rating"])
    want = {m: sum(v) / len(v) for m, v in stars.items()}
    print(f"{data}; processes start with {dc.start_method()!r}")
    wrong = 0
    shuffles = set()
    best: dict[int, dict[str, float]] = {}
    for n in (1, 2):
        for _ in range(args.repeat):
            r = dc.run_processes(pair_mapper, mean_of_pairs, data.ratings, processes=n, maps=8,
                                 partitions=4, combiner=add_pairs)
            shuffles.add(r.shuffle_bytes)
            if r.output.keys() != want.keys() or any(abs(r.output[m] - want[m]) > 1e-9
                                                     for m in want):
                print(f"WRONG output with {n} process(es)")
                wrong += 1
            if n not in best or r.times["total"] < best[n]["total"]:
                best[n] = r.times
    sim = dc.run_cluster(pair_mapper, mean_of_pairs, data.ratings[:20_000], workers=4, maps=8,
                         partitions=4, combiner=add_pairs)
    print(f"{'run':<34}{'start':>9}{'map':>9}{'reduce':>9}{'total':>9}")
    for n, t in best.items():
        print(f"{f'{n} process(es), best of {args.repeat} (s)':<34}{t['start']:9.3f}"
              f"{t['map']:9.3f}{t['reduce']:9.3f}{t['total']:9.3f}")
    print(f"{'simulated, 4 workers, 20k ratings':<34}{'':>9}{sim.map_end:9.1f}"
          f"{sim.makespan - sim.map_end:9.1f}{sim.makespan:9.1f}")
    print(f"speed-up 1 -> 2 processes: {best[1]['total'] / best[2]['total']:.2f}x; "
          f"shuffle bytes {sorted(shuffles)}")
    if len(shuffles) != 1:
        print("WRONG: the shuffle differs between runs")
        wrong += 1
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
