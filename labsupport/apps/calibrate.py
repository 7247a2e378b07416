"""Measure the real services and write what the simulator needs into the manifests.

The simulator does not run Python; it plays each container by a few numbers
in its pod's ``sim.labsupport.io/`` annotations (see
:func:`labsupport.sim.workloads.annotation_table`). This tool measures those
numbers on the real services, so the simulated recommender behaves like the
real one on this machine:

1. start the five services on loopback with a temporary DATA_DIR, one after
   the other, timing each until it answers (``start-seconds``);
2. load a synthetic data set, build features, train;
3. send each service its typical request, one at a time: the median and
   95th percentile latency give a lognormal ``service-time``; the process's
   CPU time over the requests gives ``cpu-per-request``; its resident memory
   gives ``memory-baseline``;
4. send the same request from 8 clients at once: throughput x mean service
   time says how many requests it really serves at once (``concurrency``);
5. print a table and, with ``--write``, set the annotations in
   ``clusters/recommender/*.yaml``.

Run: ``python -m labsupport.apps.calibrate [--requests 200] [--write]``.
"""

from __future__ import annotations

import argparse
import math
import random
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from labsupport.apps import SERVICES
from labsupport.apps.launch import Stack

__all__ = ["Figures", "calibrate", "write", "main", "MANIFESTS"]

#: The manifests the figures are written into.
MANIFESTS = Path(__file__).resolve().parents[2] / "clusters" / "recommender"
DATA = {"users": 500, "movies": 100, "ratings": 10_000, "seed": 0}
PARALLEL_CLIENTS = 8


@dataclass(frozen=True)
class Figures:
    """What was measured for one service.

    Attributes:
        service: its name.
        start: seconds from process start until it answered /healthz.
        p50: median seconds per request, one client.
        p95: 95th percentile seconds per request, one client.
        mean: mean seconds per request, one client.
        cpu: CPU seconds the service used per request.
        memory: resident memory after the requests, bytes.
        concurrency: requests it served at once with 8 clients (at least 1).
    """

    service: str
    start: float
    p50: float
    p95: float
    mean: float
    cpu: float
    memory: int
    concurrency: int

    def annotations(self) -> dict[str, str]:
        """The ``sim.labsupport.io/`` annotations these figures give."""
        sigma = max(0.05, math.log(max(self.p95, self.p50) / self.p50) / 1.645)
        mean = self.p50 * math.exp(sigma**2 / 2)  # a lognormal's mean from its median
        return {"service-time": f"lognormal:{mean:.4g},{sigma:.3g}",
                "cpu-per-request": f"{self.cpu:.3g}",
                "memory-baseline": f"{math.ceil(self.memory / 2**20)}Mi",
                "start-seconds": f"{self.start:.2g}",
                "concurrency": str(self.concurrency)}


def _requests(stack: Stack, users: int, movies: int) -> dict[str, Callable[[random.Random],
                                                                      httpx.Response]]:
    """Each service's typical request."""
    return {
        "ingestion": lambda r: stack.post("ingestion", "/ratings", json={
            "user": r.randint(1, users), "movie": r.randint(1, movies),
            "stars": r.randint(1, 5)}),
        "features": lambda r: stack.get("features", f"/features/users/{r.randint(1, users)}"),
        "training": lambda r: stack.post("training", "/train"),
        "serving": lambda r: stack.get("serving", f"/recommendations/{r.randint(1, users)}"),
        "ui": lambda r: stack.get("ui", f"/api/recommendations/{r.randint(1, users)}"),
    }


def _cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def _parallel(call: Callable[[random.Random], httpx.Response], count: int) -> float:
    """Requests per second with PARALLEL_CLIENTS clients sending ``count`` in all."""
    left = [count]
    lock = threading.Lock()

    def client(seed: int) -> None:
        r = random.Random(seed)
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            call(r)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(PARALLEL_CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return count / (time.perf_counter() - start)


def calibrate(requests: int = 200, say: Callable[[str], None] = print) -> dict[str, Figures]:
    """Start the services, measure each, and return the figures by service."""
    out: dict[str, Figures] = {}
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(tmp)
        try:
            starts = {name: stack.start(name) for name in SERVICES}  # one at a time
            say(f"data set: {DATA}")
            stack.post("ingestion", "/generate", json=DATA).raise_for_status()
            stack.post("features", "/build").raise_for_status()
            stack.post("training", "/train").raise_for_status()
            while stack.get("serving", "/readyz").status_code != 200:
                time.sleep(0.1)
            calls = _requests(stack, DATA["users"], DATA["movies"])
            for name in SERVICES:
                call = calls[name]
                n = 5 if name == "training" else requests
                rng = random.Random(0)
                for _ in range(3 if name == "training" else 20):  # warm up
                    call(rng).raise_for_status()
                pid = stack.pid(name)
                cpu0 = _cpu(pid)
                times = []
                for _ in range(n):
                    t0 = time.perf_counter()
                    call(rng).raise_for_status()
                    times.append(time.perf_counter() - t0)
                cpu = (_cpu(pid) - cpu0) / n
                times.sort()
                mean = statistics.fmean(times)
                workers = 1 if name == "training" else max(1, round(_parallel(call, n) * mean))
                out[name] = Figures(name, starts[name], times[len(times) // 2],
                                    times[min(len(times) - 1, int(0.95 * len(times)))], mean,
                                    cpu, psutil.Process(pid).memory_info().rss, workers)
            t0 = time.perf_counter()
            stack.post("features", "/build").raise_for_status()
            stack.post("training", "/train").raise_for_status()
            out["retrain"] = Figures("retrain", 0.0, time.perf_counter() - t0, 0, 0, 0, 0, 1)
        finally:
            stack.close()
    return out


def _monolith(figures: dict[str, Figures]) -> dict[str, str]:
    """One process for all five: serving's request, everyone's memory, the slowest start."""
    notes = figures["serving"].annotations()
    memory = sum(figures[name].memory for name in SERVICES)
    notes["memory-baseline"] = f"{math.ceil(memory / 2**20)}Mi"
    notes["start-seconds"] = f"{max(figures[name].start for name in SERVICES):.2g}"
    return notes


def write(figures: dict[str, Figures], folder: Path = MANIFESTS) -> list[Path]:
    """Set the calibrated annotations in each service's manifest (and the monolith's)."""
    plan = {name: figures[name].annotations() for name in SERVICES}
    plan["monolith"] = _monolith(figures)
    plan["training"]["exit-after"] = f"{max(1.0, figures['retrain'].p50):.2g}"
    written = []
    for name, notes in plan.items():
        path = folder / f"{name}.yaml"
        text = path.read_text()
        for key, value in notes.items():
            text, count = re.subn(rf'(sim\.labsupport\.io/{key}: )"[^"]*"', rf'\g<1>"{value}"',
                                  text)
            if count == 0:
                raise KeyError(f"{path} has no sim.labsupport.io/{key} annotation to set")
        path.write_text(text)
        written.append(path)
    return written


def report(figures: dict[str, Figures]) -> str:
    """The figures as a table."""
    rows = [f"{'service':<10} {'start s':>7} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms/req':>10} "
            f"{'RSS MiB':>8} {'workers':>7}"]
    for name in SERVICES:
        f = figures[name]
        rows.append(f"{name:<10} {f.start:>7.2f} {f.p50 * 1e3:>8.2f} {f.p95 * 1e3:>8.2f} "
                    f"{f.cpu * 1e3:>10.2f} {f.memory / 2**20:>8.1f} {f.concurrency:>7}")
    rows.append(f"a features build plus a training (the CronJob): "
                f"{figures['retrain'].p50:.2f} s")
    for name in SERVICES:
        rows.append(f"{name}: {figures[name].annotations()}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    """Measure, print, and with ``--write`` update the manifests."""
    parser = argparse.ArgumentParser(prog="python -m labsupport.apps.calibrate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200,
                        help="requests per service (default 200)")
    parser.add_argument("--write", action="store_true",
                        help="write the annotations into clusters/recommender/*.yaml")
    args = parser.parse_args(argv)
    figures = calibrate(args.requests)
    print(report(figures))
    if args.write:
        for path in write(figures):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
