"""advance() on a real cluster: wall time, with a progress bar when someone watches."""

from __future__ import annotations

import io

from labsupport.kube.progress import sleep_with_progress, text_bar


class FakeClock:
    def __init__(self):
        self.t = 0.0
        self.slept = []

    def sleep(self, s):
        self.slept.append(s)
        self.t += s

    def __call__(self):
        return self.t


def test_text_bar():
    assert text_bar(0, 10, width=4) == "waiting [....] 0/10 s"
    assert text_bar(10, 10, width=4) == "waiting [####] 10/10 s"
    assert text_bar(20, 10, width=4) == "waiting [####] 20/10 s"


def test_bar_shown_when_asked():
    clock, out = FakeClock(), io.StringIO()
    sleep_with_progress(5, display=True, sleep=clock.sleep, clock=clock, stream=out)
    assert clock.t >= 5
    assert "waiting [" in out.getvalue() and "5/5 s" in out.getvalue()
    assert out.getvalue().endswith("\r")            # the bar is wiped at the end


def test_headless_sleeps_once_and_prints_nothing():
    clock, out = FakeClock(), io.StringIO()
    sleep_with_progress(30, display=False, sleep=clock.sleep, clock=clock, stream=out)
    assert clock.slept == [30]
    assert out.getvalue() == ""


def test_automatic_shows_no_bar_off_a_terminal_or_for_short_waits():
    clock, out = FakeClock(), io.StringIO()           # StringIO is not a terminal
    sleep_with_progress(30, sleep=clock.sleep, clock=clock, stream=out)
    sleep_with_progress(1, sleep=clock.sleep, clock=clock, stream=out)
    assert out.getvalue() == ""
    assert clock.slept == [30, 1]


def test_zero_seconds_does_nothing():
    clock = FakeClock()
    sleep_with_progress(0, display=True, sleep=clock.sleep, clock=clock, stream=io.StringIO())
    assert clock.slept == []
