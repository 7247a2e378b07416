from __future__ import annotations

import pytest

import labsupport as ls
from labsupport import dc
from labsupport.errors import GradingError
from labsupport.grading import check, check_all, exercise, get_check
from labsupport.grading.student import forget


def amdahl(p, n):
    return 1 / ((1 - p) + p / n)


class Detector:
    def __init__(self, timeout):
        self.timeout = timeout
        self.last = {}

    def heartbeat(self, node, time):
        self.last[node] = max(time, self.last.get(node, time))

    def suspects(self, now):
        return {n for n, t in self.last.items() if now - t > self.timeout}


def measure(job, workers, seed=0):
    return (dc.run_job(job, 1, seed=seed).makespan
            / dc.run_job(job, workers, seed=seed).makespan)


RIGHT = {"ex02.q1": amdahl, "ex02.q2": 10 / amdahl(0.99, 10), "ex02.q3": measure,
         "ex02.q4": Detector, "ex02.q5": 3.5}


def test_reference_answers_pass_public_and_hidden_cases():
    report = check_all(RIGHT, hidden=True)
    assert report.passed and report.score == exercise("ex02").points == 10
    report.require_full_marks()


def test_public_check_runs_no_hidden_case_and_says_how_many_there_are():
    result = check("ex02.q1", amdahl)
    assert result.passed and result.score == 2
    assert not any(o.hidden for o in result.outcomes)
    assert result.hidden_cases == 4
    assert "4 more hidden case(s)" in str(result)
    assert "&#10004;" in result._repr_html_()
    assert result.to_json()["score"] == 2


def test_lazy_export_from_the_top_package():
    assert ls.check is check and ls.check_all is check_all


@pytest.mark.parametrize("name, answer, expected", [
    ("ex02.q1", lambda p, n: n, "that is the ideal speed-up"),
    ("ex02.q1", lambda p, n: (1 - p) + p * n, "Gustafson"),
    ("ex02.q1", lambda p, n: "fast", "should return a number, got 'fast'"),
    ("ex02.q1", lambda p, n: 1 / 0, "raised ZeroDivisionError"),
    ("ex02.q1", 9.17, "should be a function"),
    ("ex02.q2", 1.0, "exactly 1 hour would need a job with no serial part"),
    ("ex02.q2", amdahl(0.99, 10), "that is the speed-up"),
    ("ex02.q2", "1.09", "should be a number of hours"),
    ("ex02.q3", lambda job, n, seed=0: amdahl(job.parallel_fraction, n),
     "that is Amdahl's prediction"),
    ("ex02.q3", lambda job, n, seed=0: 1 / measure(job, n, seed), "upside down"),
    ("ex02.q5", 1.0, "false alarm"),
    ("ex02.q5", 9.0, "on average; the target is at most 4.5 s"),
    ("ex02.q5", -2, "positive number of seconds"),
])
def test_wrong_answers_get_messages_in_the_learners_terms(name, answer, expected):
    result = check(name, answer)
    assert not result.passed and result.score < get_check(name).points
    assert any(expected in o.message for o in result.failures), str(result)


def test_detector_mistakes_are_explained_as_false_alarms_or_missed_crashes():
    class Jumpy(Detector):
        def suspects(self, now):
            return {n for n, t in self.last.items() if now - t > self.timeout / 3}

    class Deaf(Detector):
        def suspects(self, now):
            return set()

    class ListOfNames(Detector):
        def suspects(self, now):
            return 7

    jumpy = check("ex02.q4", Jumpy)
    assert "false alarm" in jumpy.failures[0].message
    deaf = check("ex02.q4", Deaf)
    assert "but you did not suspect it; it crashed at t=30 s" in deaf.failures[0].message
    assert "should return a set of node names" in check("ex02.q4", ListOfNames).failures[0].message


def test_hidden_cases_catch_what_public_ones_miss():
    class Impatient(Detector):
        """Never waits more than 5 s, whatever the timeout: wrong for long timeouts."""

        def __init__(self, timeout):
            super().__init__(min(timeout, 5))

    public = check("ex02.q4", Impatient)
    full = get_check("ex02.q4").run(Impatient, hidden=True)
    assert public.passed
    assert not full.passed
    assert [o.label for o in full.failures] == ["a long timeout (10 s) and a late crash"]
    assert "false alarm" in full.failures[0].message

    def ignores_seed(job, workers, seed=0):
        return measure(job, workers, 0)

    assert check("ex02.q3", ignores_seed).passed
    assert not get_check("ex02.q3").run(ignores_seed, hidden=True).passed
    # 3 s passes the notebook's trace but not other days of the same network
    assert check("ex02.q5", 3.0).passed
    assert not get_check("ex02.q5").run(3.0, hidden=True).passed


def test_unanswered_placeholders_say_not_answered_yet():
    def stub(*args):
        raise NotImplementedError("your answer here")

    for name, answer in [("ex02.q1", stub), ("ex02.q2", ...), ("ex02.q4", stub)]:
        result = check(name, answer)
        assert result.score == 0
        assert result.note.startswith("not answered yet")
        assert all(o.message.startswith("not answered yet") for o in result.outcomes)


def test_handing_in_the_library_copy_does_not_count():
    result = check("ex02.q1", dc.amdahl)
    assert result.score == 0 and "course library's own" in result.failures[0].message


def test_misuse_is_explained():
    with pytest.raises(GradingError, match=r'check\("ex02.q1", amdahl_speedup\)'):
        check("ex02.q1")
    with pytest.raises(GradingError, match="ex02.q1, ex02.q2"):
        check("ex02.q9", 1)
    with pytest.raises(GradingError, match="exercises with checks"):
        check("ex77.q1", 1)
    with pytest.raises(GradingError, match="looks like"):
        check("q1", 1)


def test_check_all_summarises_the_session():
    forget()
    check("ex02.q1", amdahl)
    check("ex02.q2", 7)
    report = check_all()
    assert [r.name for r in report.results] == ["ex02.q1", "ex02.q2"]
    assert report.missing == ("ex02.q3", "ex02.q4", "ex02.q5")
    assert report.score == 2 and not report.passed
    assert "not checked yet" in str(report) and "not checked yet" in report._repr_html_()
    with pytest.raises(GradingError):
        report.require_full_marks()
    forget()
    with pytest.raises(GradingError, match="nothing checked yet"):
        check_all()


def test_inside_the_batch_grader_check_is_a_no_op(monkeypatch):
    monkeypatch.setenv("LABSUPPORT_GRADER", "1")
    result = check("ex02.q1", amdahl)
    assert result.outcomes == () and "instructor's grader" in result.note
