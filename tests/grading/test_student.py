"""answered(): a cell that uses unanswered answers says so instead of stopping Run All."""

from __future__ import annotations

import pytest

import labsupport as ls
from labsupport.errors import GradingError
from labsupport.grading import answered
from labsupport.grading.build import stub_lines


def stubbed(source: str, region: list[str], indent: str = "    ") -> dict:
    """Run ``source`` with ``{ANSWER}`` replaced by the builder's stub for ``region``."""
    namespace: dict = {}
    exec(source.replace("{ANSWER}", "\n".join(stub_lines(region, indent))), namespace)
    return namespace


def test_the_builders_stubs_count_as_unanswered(capsys):
    ns = stubbed("def measure_speedup(job, workers, seed=0):\n{ANSWER}\n",
                 ["    return 1.0"])
    ns.update(stubbed("class Detector:\n    def __init__(self, timeout):\n"
                      "        self.timeout = timeout\n\n"
                      "    def suspects(self, now):\n{ANSWER}\n",
                      ["        return set()"], indent="        "))
    ns.update(stubbed("{ANSWER}\n", ["predicted_hours = 10 / 9.17"], indent=""))
    assert ns["predicted_hours"] is Ellipsis

    assert answered(ns["measure_speedup"], ns["Detector"],
                    predicted_hours=ns["predicted_hours"]) is False
    assert capsys.readouterr().out == (
        "This cell uses your answers to measure_speedup, Detector and predicted_hours: "
        "answer those first, then run it again.\n")


def test_written_answers_pass_silently(capsys):
    def measure_speedup(job, workers, seed=0):
        return 2.0

    class Detector:
        def suspects(self, now):
            raise NotImplementedError("subclasses say who is suspected")  # not the stub

    assert answered(measure_speedup, Detector, predicted_hours=10.9, nothing=None) is True
    assert capsys.readouterr().out == ""


def test_one_unanswered_answer_is_named_alone(capsys):
    def amdahl_speedup(parallel_fraction, workers):
        raise NotImplementedError("your answer here")

    assert answered(amdahl_speedup, predicted_hours=10.9) is False
    assert capsys.readouterr().out == (
        "This cell uses your answer to amdahl_speedup: answer it first, then run it again.\n")


def test_stubs_in_static_class_property_and_nested_code_are_found():
    def stub():
        raise NotImplementedError("your answer here")

    class WithStatic:
        rate = staticmethod(stub)

    class WithClassMethod:
        make = classmethod(stub)

    class WithProperty:
        value = property(stub)

    class WithPlaceholder:
        timeout = ...

    def outer():
        def inner():
            raise NotImplementedError("your answer here")
        return inner

    for answer in (WithStatic, WithClassMethod, WithProperty, WithPlaceholder, outer,
                   WithStatic().rate, WithClassMethod.make):
        assert answered(answer) is False, answer


def test_answers_are_inspected_never_called():
    calls = []

    def measure_speedup(job, workers):
        calls.append(job)
        raise NotImplementedError("your answer here")

    assert answered(measure_speedup) is False
    assert calls == []


def test_misuse_is_explained():
    with pytest.raises(GradingError, match="needs the answers the cell uses"):
        answered()
    with pytest.raises(GradingError, match="pass it by keyword"):
        answered(...)
    with pytest.raises(GradingError, match="predicted_hours=predicted_hours"):
        answered(10.9)


def test_lazy_export_from_the_top_package():
    assert ls.answered is answered
    assert "answered" in ls.__all__
