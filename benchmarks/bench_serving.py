"""Benchmark: serving latency and throughput, 50 clients, a large catalogue.

The serving service runs as a real process on loopback
(``python -m labsupport.apps.serving``) with a model of 100,000 users and
10,000 movies (random factors: the speed of an answer does not depend on the
quality of the model; each user has rated 20 movies, which are excluded).
50 clients, each with its own keep-alive connection, ask
``GET /recommendations/{user}?n=10`` for random users as fast as they can
for a fixed time. The clients are ``wrk`` (a C load generator; ``apt-get
install wrk``) when it is on PATH, since a Python client would take much of
the CPU the server needs, else Python asyncio clients; the output says which.
The benchmark prints requests per second and the p50 and p99 latency seen
by the clients, and how far p99 is below (or above) the target. Clients and
server share this machine's cores, so the figures are a floor, not what one
pod on its own core would do. Target: p99 under 20 ms.

Run: ``python benchmarks/bench_serving.py [--seconds 10] [--clients 50] [--client asyncio]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from labsupport.apps import model as mf
from labsupport.apps.launch import free_port

USERS, MOVIES, RATED, FACTORS = 100_000, 10_000, 20, 8
TARGET_P99 = 0.020


def make_model(folder: Path, seed: int = 0) -> None:
    """Save a random model of USERS x MOVIES with RATED rated movies per user."""
    rng = np.random.default_rng(seed)
    k = FACTORS + 2
    model = mf.Model(0, np.arange(1, USERS + 1), np.arange(1, MOVIES + 1),
                     rng.normal(0, 0.3, (USERS, k)).astype(np.float32),
                     rng.normal(0, 0.3, (MOVIES, k)).astype(np.float32),
                     np.arange(0, USERS * RATED + 1, RATED, dtype=np.int64),
                     rng.integers(0, MOVIES, USERS * RATED).astype(np.int64),
                     np.array([f"Movie {i}" for i in range(1, MOVIES + 1)]),
                     {"users": USERS, "movies": MOVIES, "factors": FACTORS})
    mf.save(model, folder)


async def client(port: int, until: float, seed: int, latencies: list[float]) -> int:
    """One keep-alive HTTP/1.1 connection asking for recommendations until ``until``."""
    rng = np.random.default_rng(seed)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    while time.perf_counter() < until:
        user = int(rng.integers(1, USERS + 1))
        start = time.perf_counter()
        writer.write(f"GET /recommendations/{user}?n=10 HTTP/1.1\r\nHost: b\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - start)
        errors += not head.startswith(b"HTTP/1.1 200")
    writer.close()
    return errors


async def load(port: int, clients: int, seconds: float) -> tuple[list[float], int, float]:
    """Run the clients; their latencies, errors and wall time."""
    latencies: list[float] = []
    start = time.perf_counter()
    errors = await asyncio.gather(*(client(port, start + seconds, i, latencies)
                                    for i in range(clients)))
    return latencies, sum(errors), time.perf_counter() - start


WRK_SCRIPT = f"""
math.randomseed(1)
request = function()
  return wrk.format("GET", "/recommendations/" .. math.random(1, {USERS}) .. "?n=10")
end
"""


def wrk_load(port: int, clients: int, seconds: float, folder: Path
             ) -> tuple[int, float, float, float, int]:
    """Run wrk: requests, wall seconds, p50 and p99 in seconds, non-200 answers."""
    script = folder / "random_users.lua"
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{seconds:g}s", "--latency",
                          "-s", str(script), f"http://127.0.0.1:{port}"],
                         capture_output=True, text=True, check=True).stdout
    unit = {"us": 1e-6, "ms": 1e-3, "s": 1.0}

    def percentile(p: str) -> float:
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * unit[m.group(2)]

    total = re.search(r"(\d+) requests in ([\d.]+)(s|m)", out)
    wall = float(total.group(2)) * (60 if total.group(3) == "m" else 1)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    failed = (int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors else 0)
    return int(total.group(1)), wall, percentile(50), percentile(99), failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--client", choices=["wrk", "asyncio"],
                        default="wrk" if shutil.which("wrk") else "asyncio")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        make_model(Path(tmp) / "models")
        print(f"model: {USERS:,} users, {MOVIES:,} movies, saved in "
              f"{time.perf_counter() - t0:.1f} s")
        port = free_port()
        env = dict(os.environ, PORT=str(port), HOST="127.0.0.1", DATA_DIR=tmp)
        server = subprocess.Popen([sys.executable, "-m", "labsupport.apps.serving"], env=env,
                                  stdout=subprocess.DEVNULL)
        try:
            import httpx

            for _ in range(400):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
            asyncio.run(load(port, args.clients, 1.0))  # warm up
            if args.client == "wrk":
                count, wall, p50, p99, errors = wrk_load(port, args.clients, args.seconds,
                                                         Path(tmp))
            else:
                latencies, errors, wall = asyncio.run(load(port, args.clients, args.seconds))
                lat = np.array(latencies)
                count, p50, p99 = len(lat), np.percentile(lat, 50), np.percentile(lat, 99)
        finally:
            server.terminate()
            server.wait()
    print(f"{count:,} requests from {args.clients} {args.client} clients in {wall:.1f} s on "
          f"{os.cpu_count()} cores: {count / wall:,.0f} requests/s, {errors} errors")
    print(f"latency p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms")
    if p99 < TARGET_P99:
        print(f"target p99 < {TARGET_P99 * 1e3:.0f} ms: met, {(TARGET_P99 - p99) * 1e3:.1f} ms "
              f"({(1 - p99 / TARGET_P99):.0%}) below")
    else:
        print(f"target p99 < {TARGET_P99 * 1e3:.0f} ms: NOT met, {(p99 - TARGET_P99) * 1e3:.1f} "
              f"ms above (one process, clients on the same cores)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
