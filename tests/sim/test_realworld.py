"""Published multi-service applications apply cleanly and become available."""

from __future__ import annotations

from pathlib import Path

import pytest

import labsupport as ls

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.mark.parametrize("name,namespace", [("microservices-demo.yaml", "boutique"),
                                            ("guestbook.yaml", "default")])
def test_application_applies_and_every_deployment_becomes_available(name, namespace):
    c = ls.connect("sim", nodes=3, seed=0)
    if namespace != "default":
        c.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    refs = c.apply(DATA / name, namespace=namespace)
    deployments = [r for r in refs if r.startswith("deployment/")]
    assert deployments
    for ref in deployments:
        assert c.wait_for_rollout(ref, namespace=namespace, timeout=600).endswith(
            "successfully rolled out")
    for svc in c.list("services", namespace=namespace):
        if not svc["spec"].get("selector"):
            continue
        ep = c.get(f"endpoints/{svc['metadata']['name']}", namespace=namespace)
        assert ep["subsets"] and ep["subsets"][0].get("addresses"), svc["metadata"]["name"]
    # fields without an effect in the simulator are kept as applied
    first = c.list("deployments", namespace=namespace)[0]
    source = ls.load(DATA / name)
    applied = next(o for o in source if o["kind"] == "Deployment"
                   and o["metadata"]["name"] == first["metadata"]["name"])
    assert _contains(first["spec"], applied["spec"])


def _contains(live, applied) -> bool:
    """Every applied field is in the live object with its value (defaults may add more)."""
    if isinstance(applied, dict):
        return isinstance(live, dict) and all(k in live and _contains(live[k], v)
                                              for k, v in applied.items())
    if isinstance(applied, list):
        return isinstance(live, list) and len(live) == len(applied) and all(
            _contains(a, b) for a, b in zip(live, applied))
    return live == applied


def test_reapplying_the_same_file_changes_nothing():
    c = ls.connect("sim", seed=0)
    c.apply(DATA / "guestbook.yaml")
    c.wait_for_rollout("deployment/frontend")
    gens = {d["metadata"]["name"]: d["metadata"]["generation"] for d in c.list("deploy")}
    pods = {p.name for p in c.pods()}
    c.apply(DATA / "guestbook.yaml")
    c.advance(60)
    assert {d["metadata"]["name"]: d["metadata"]["generation"] for d in c.list("deploy")} == gens
    assert {p.name for p in c.pods()} == pods
