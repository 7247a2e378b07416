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
