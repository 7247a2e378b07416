"""The "try it" control: defaults without a frontend, live redraws in place with one."""

from __future__ import annotations

import pytest

import labsupport as ls


def _draw(workers=4, policy="greedy"):
    return f"{workers} workers, {policy}"


def test_headless_returns_the_defaults_result():
    assert ls.viz.explore(_draw, workers=(1, 16), policy=["greedy", "static"],
                          display=False) == "4 workers, greedy"


@pytest.mark.parametrize("call, message", [
    (lambda: ls.viz.explore("draw", n=(1, 2)), "needs a function"),
    (lambda: ls.viz.explore(_draw, nodes=(1, 2)), "has no argument 'nodes'"),
    (lambda: ls.viz.explore(lambda n: n, n=(1, 2)), "give 'n' a default"),
])
def test_misuse_is_explained(call, message):
    with pytest.raises(ls.Invalid, match=message):
        call()


def test_a_change_redraws_in_place(monkeypatch):
    import IPython.display

    shown = []

    class Handle:
        def update(self, obj):
            shown.append(("update", obj))

    def fake_display(obj, display_id=False):
        shown.append(("display", obj))
        return Handle() if display_id else None

    explorer = ls.viz.Explorer(_draw, {"workers": (1, 16), "policy": ["greedy", "static"]},
                               {"workers": 4, "policy": "greedy"})
    monkeypatch.setattr(IPython.display, "display", fake_display)
    explorer._ipython_display_()
    explorer.controls["workers"].value = 9
    explorer.controls["policy"].value = "static"
    assert [kind for kind, _ in shown] == ["display", "display", "update", "update"]
    assert shown[1][1] == "4 workers, greedy" and shown[-1][1] == "9 workers, static"
