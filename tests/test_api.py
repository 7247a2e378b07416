"""labsupport.__all__, the documented API (docs/API.md) and a light import stay in sync."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import labsupport as ls

ROOT = Path(__file__).resolve().parent.parent


def documented() -> set[str]:
    text = (ROOT / "docs" / "API.md").read_text()
    return set(re.findall(r"^- `(\w+)` —", text, flags=re.M))


def test_all_matches_the_documented_api():
    assert set(ls.__all__) == documented()
    assert len(ls.__all__) == len(set(ls.__all__))


def test_every_public_name_resolves_and_has_a_docstring():
    for name in ls.__all__:
        obj = getattr(ls, name)
        assert obj.__doc__ and obj.__doc__.strip(), name


def test_unknown_attribute_is_a_clear_error():
    try:
        ls.no_such_thing  # noqa: B018
    except AttributeError as err:
        assert "no_such_thing" in str(err)
    else:
        raise AssertionError("expected AttributeError")


def test_import_is_light():
    code = ("import sys, labsupport; heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('kubernetes', 'matplotlib', 'yaml', 'simpy', 'networkx', 'jsonschema', "
            "'kubernetes_validate', 'numpy')]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_environment_yml_lists_the_same_dependencies():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = (ROOT / "environment.yml").read_text().lower().replace("_", "-")
    for dep in project["dependencies"] + project["optional-dependencies"]["test"]:
        name = re.split(r"[<>=!~\[ ]", dep, maxsplit=1)[0].lower().replace("_", "-")
        assert name in env, f"{name} is in pyproject.toml but not in environment.yml"


def api_lines() -> list[str]:
    return (ROOT / "docs" / "API.md").read_text().splitlines()


def contract_names() -> set[str]:
    """What API.md's `Cluster` line names after the dash: the contract both backends keep."""
    line = next(ln for ln in api_lines() if ln.startswith("- `Cluster` —"))
    return set(re.findall(r"`(\w+)`", line.partition(" — ")[2]))


def simulator_names() -> set[str]:
    """The sub-list under API.md's `SimCluster` line: what only the simulator has."""
    lines = api_lines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("- `SimCluster` —"))
    names = set()
    for line in lines[start + 1:]:
        item = re.match(r"^\s+- `(\w+)` —", line)
        if item is None:
            break
        names.add(item.group(1))
    return names


def readme_code() -> str:
    """The README's ```python blocks, and its inline code outside fenced blocks."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)
    prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return "\n".join(blocks + re.findall(r"`([^`\n]+)`", prose))


def test_readme_code_uses_only_exported_and_documented_names():
    code = readme_code()
    used = set(re.findall(r"\bls\.(\w+)", code))
    assert {"connect", "viz"} <= used  # the parsing found the README's code
    assert used - set(ls.__all__) == set(), "used in README.md but not exported"
    assert used - documented() == set(), "used in README.md but not in docs/API.md"


def test_readme_cluster_methods_exist_on_the_simulator_and_are_documented():
    code = readme_code()
    called = set(re.findall(r"\bc\.(\w+)\(", code))
    assert {"apply", "wait_for_rollout", "send_traffic", "prometheus"} <= called
    used = called | set(re.findall(r"\bc\.(\w+)", code))  # attributes too: c.store
    c = ls.connect(seed=0)
    api = (ROOT / "docs" / "API.md").read_text()
    for name in sorted(used):
        assert not name.startswith("_") and hasattr(c, name), f"c.{name} is not on SimCluster"
        assert f"`{name}`" in api, f"c.{name} is used in README.md but not in docs/API.md"
    for name in sorted(called):
        assert callable(getattr(c, name)), f"README.md calls c.{name}() but it is not a method"


def test_contract_line_lists_the_public_attributes_of_cluster():
    public = {n for n in dir(ls.Cluster) if not n.startswith("_")}
    assert public == contract_names()


def test_simcluster_public_attributes_are_the_documented_ones():
    """help(SimCluster) shows the contract and the simulator's extras, no internal helper."""
    documented_names = contract_names() | simulator_names()
    assert {"send_traffic", "prometheus", "partition", "heal", "metrics", "trace", "store",
            "explain_scheduling"} <= documented_names
    on_class = {n for n in dir(ls.SimCluster) if not n.startswith("_")}
    on_instance = set(vars(ls.connect(seed=0)))  # c.store is set in __init__
    assert on_class == documented_names - on_instance
    assert documented_names <= on_class | on_instance


def test_rollout_failed_is_an_exported_error():
    from labsupport.rollout import RolloutFailed

    assert ls.RolloutFailed is RolloutFailed
    assert issubclass(ls.RolloutFailed, ls.LabSupportError)
    errors = api_lines()[api_lines().index("## Errors"):]
    assert any(ln.startswith("- `RolloutFailed` —") for ln in errors)
