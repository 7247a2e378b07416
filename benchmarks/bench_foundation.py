"""How fast the foundation is: importing labsupport, compiling schemas, checking manifests.

Run with ``make bench`` or ``python benchmarks/bench_foundation.py``. Prints a
small table; the targets are what the course promises on a 2-core laptop:

- ``import labsupport`` in a fresh interpreter: under 0.3 s (median of 5);
- compiling the Kubernetes schema once, then checking 1,000 distinct,
  realistic Deployments (probes, resources, env, ports): under 2 s in total,
  both through ``load`` (YAML text) and through ``validate`` (dicts).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N = 1000


def import_time(runs: int = 5) -> float:
    """Median wall time of ``import labsupport`` in a fresh interpreter."""
    code = ("import time; t = time.perf_counter(); import labsupport; "
            "print(time.perf_counter() - t)")
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, cwd=ROOT)
        times.append(float(out.stdout.strip()))
    return statistics.median(times)


def interpreter_time(runs: int = 5) -> float:
    """Median wall time of a fresh interpreter doing nothing, for comparison."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def deployment(i: int) -> str:
    """A realistic Deployment, different for each ``i``."""
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-{i}
  namespace: team-{i % 7}
  labels:
    app: svc-{i}
    tier: backend
    app.kubernetes.io/version: "1.{i % 13}.0"
  annotations:
    prometheus.io/scrape: "true"
spec:
  replicas: {1 + i % 5}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app: svc-{i}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: {i % 2}
  template:
    metadata:
      labels:
        app: svc-{i}
        tier: backend
    spec:
      serviceAccountName: svc-{i}
      terminationGracePeriodSeconds: 30
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        fsGroup: 1000
      containers:
      - name: server
        image: registry.example.com/team-{i % 7}/svc-{i}:v1.{i % 13}.{i % 5}
        imagePullPolicy: IfNotPresent
        args: ["--port=8080", "--log-level=info"]
        ports:
        - name: http
          containerPort: 8080
          protocol: TCP
        - name: metrics
          containerPort: 9090
        env:
        - name: PORT
          value: "8080"
        - name: INSTANCE
          value: "svc-{i}"
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef:
              name: db-{i % 3}
              key: password
        resources:
          requests:
            cpu: {100 + i % 400}m
            memory: {64 + i % 64}Mi
          limits:
            cpu: "1"
            memory: 512Mi
        readinessProbe:
          httpGet:
            path: /ready
            port: http
          initialDelaySeconds: 5
          periodSeconds: 10
        livenessProbe:
          httpGet:
            path: /healthz
            port: 8080
          initialDelaySeconds: 15
          failureThreshold: 3
        startupProbe:
          tcpSocket:
            port: 8080
          failureThreshold: 30
          periodSeconds: 2
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities:
            drop: ["ALL"]
        volumeMounts:
        - name: tmp
          mountPath: /tmp
        - name: config
          mountPath: /etc/svc
          readOnly: true
      volumes:
      - name: tmp
        emptyDir:
          sizeLimit: 64Mi
      - name: config
        configMap:
          name: svc-{i}-config
"""


def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def median_of(runs: int, fn, *args) -> float:
    return statistics.median(timed(fn, *args)[0] for _ in range(runs))


def main() -> None:
    imp = import_time()
    bare = interpreter_time()

    from labsupport import manifests, schema

    text = "---\n".join(deployment(i) for i in range(N))
    compile_s, _ = timed(schema.schema_for, manifests.KUBERNETES_VERSION)
    first_s, objs = timed(manifests.load, text)
    assert len(objs) == N, "every Deployment should load"

    def validate_all(docs: list[dict]) -> None:
        for doc in docs:
            manifests.validate(doc)

    load_s = median_of(3, manifests.load, text)
    validate_s = median_of(3, validate_all, objs)
    dicts_s = median_of(3, manifests.load, objs)

    rows = [
        ("import labsupport (fresh process, median of 5)", imp, "< 0.3 s"),
        ("  for comparison: a whole 'python -c pass' process", bare, ""),
        (f"schema compile, once (Kubernetes {manifests.KUBERNETES_VERSION})", compile_s, ""),
        (f"load(): {N} Deployments as YAML text, first run", first_s, ""),
        (f"load(): {N} Deployments as YAML text (median of 3)", load_s, ""),
        (f"validate(): {N} Deployment dicts (median of 3)", validate_s, ""),
        (f"load(): {N} Deployment dicts, with copies (median of 3)", dicts_s, ""),
        ("compile + first load() of YAML text", compile_s + first_s, "< 2 s"),
        ("compile + validate() of dicts", compile_s + validate_s, "< 2 s"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'seconds':>8}  target")
    print(f"{'-' * width}  {'-' * 8}  ------")
    for label, seconds, target in rows:
        print(f"{label.ljust(width)}  {seconds:8.3f}  {target}")
    print(f"\nper Deployment through load(): {load_s / N * 1000:.2f} ms (YAML parsing is most "
          f"of it); through validate(): {validate_s / N * 1000:.3f} ms")
    if hasattr(os, "getloadavg"):
        print(f"load average while measuring: {os.getloadavg()[0]:.2f} "
              f"on {os.cpu_count()} CPUs (other work slows every figure)")


if __name__ == "__main__":
    main()
