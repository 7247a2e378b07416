"""The recommender's manifests: valid, and they run on the simulator (HPA included)."""

from __future__ import annotations

from pathlib import Path

import labsupport as ls
from labsupport.quantity import cpu_cores

FOLDER = Path(__file__).resolve().parents[2] / "clusters" / "recommender"
SERVICES = ("ingestion", "features", "training", "serving", "ui")


def test_every_service_has_a_file_with_probes_and_calibrated_annotations():
    objs = ls.load(FOLDER)
    deployments = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Deployment"}
    assert set(deployments) == {*SERVICES, "monolith"}
    for name, d in deployments.items():
        pod = d["spec"]["template"]
        container = pod["spec"]["containers"][0]
        assert container["command"] == ["python", "-m", f"labsupport.apps.{name}"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["resources"]["requests"] and container["resources"]["limits"]
        notes = pod["metadata"]["annotations"]
        for key in ("service-time", "cpu-per-request", "memory-baseline", "start-seconds",
                    "concurrency"):
            assert f"sim.labsupport.io/{key}" in notes, (name, key)
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objs}
    assert {("PersistentVolumeClaim", "recommender-data"), ("CronJob", "retrain"),
            ("HorizontalPodAutoscaler", "serving")} <= kinds
    ui = next(o for o in objs if o["kind"] == "Service" and o["metadata"]["name"] == "ui")
    assert ui["spec"]["type"] == "NodePort"


def test_the_recommender_runs_on_the_simulator_and_serving_scales_with_a_spike():
    c = ls.connect(seed=0)
    try:
        c.apply(FOLDER)
        for name in (*SERVICES, "monolith"):
            c.wait_for_rollout(f"deployment/{name}", timeout=300)
        serving = c.get("deployment/serving")["spec"]["template"]
        cpu = float(serving["metadata"]["annotations"]["sim.labsupport.io/cpu-per-request"])
        request = cpu_cores(serving["spec"]["containers"][0]["resources"]["requests"]["cpu"])
        # One pod at the HPA's 50% target serves request / 2 / cpu requests per second;
        # the spike (5 x rps) needs about four of them.
        rps = 0.8 * request / 2 / cpu
        traffic = c.send_traffic("service/serving", rps=rps, duration=200, pattern="spike",
                                 background=True)
        peak = 1
        while c.now < traffic.end:
            c.advance(10)
            peak = max(peak, c.get("deployment/serving")["spec"]["replicas"])
        assert peak >= 3
        c.wait_until(lambda c: c.get("deployment/serving")["spec"]["replicas"] == 1,
                     timeout=600)
    finally:
        c.close()
