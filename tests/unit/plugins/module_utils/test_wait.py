# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one waiter: deadline, backoff with jitter, progress, and no overshoot."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import WaitTimeout
from ansible_collections.sovereign.vm_backup.plugins.module_utils._wait import Deadline, poll_delay, wait_until

from fake_time import FakeTime


def test_poll_delay_doubles_and_caps():
    assert poll_delay(0, 0.1, 16, rand=lambda: 0.0) == 0.1
    assert poll_delay(3, 0.1, 16, rand=lambda: 0.0) == pytest.approx(0.8)
    assert poll_delay(30, 0.1, 16, rand=lambda: 1.0) == pytest.approx(17.6)


def test_returns_the_first_result_that_is_not_none_and_backs_off():
    answers = iter([None, None, None, "done"])
    fake = FakeTime()
    result = wait_until(lambda: next(answers), 100, None, first_delay=1, max_delay=3, sleep=fake.sleep,
                        clock=fake.clock, rand=lambda: 0.0)
    assert result == "done"
    assert fake.sleeps == [1, 2, 3]


def test_a_falsy_result_other_than_none_ends_the_wait():
    assert wait_until(lambda: 0, 1, None, sleep=pytest.fail) == 0


def test_times_out_without_overshooting_and_raises_what_on_timeout_builds():
    fake = FakeTime()
    with pytest.raises(WaitTimeout, match="late"):
        wait_until(lambda: None, 7, lambda: WaitTimeout("late"), first_delay=3, max_delay=3, sleep=fake.sleep,
                   clock=fake.clock, rand=lambda: 0.0)
    assert fake.sleeps == [3, 3, 1]
    assert fake.now == pytest.approx(7)


def test_jitter_adds_at_most_a_tenth():
    fake = FakeTime()
    answers = iter([None, "x"])
    wait_until(lambda: next(answers), 100, None, first_delay=2, max_delay=2, sleep=fake.sleep, clock=fake.clock,
               rand=lambda: 1.0)
    assert fake.sleeps == [pytest.approx(2.2)]


def test_progress_is_reported_before_each_pause_with_elapsed_and_remaining():
    fake = FakeTime()
    seen = []
    answers = iter([None, None, "x"])
    wait_until(lambda: next(answers), 10, None, progress=lambda elapsed, left: seen.append((elapsed, left)),
               first_delay=1, max_delay=1, sleep=fake.sleep, clock=fake.clock, rand=lambda: 0.0)
    assert seen == [(0.0, 10.0), (1.0, 9.0)]


def test_a_shared_deadline_bounds_several_waits():
    fake = FakeTime()
    deadline = Deadline(5, clock=fake.clock)
    fake.now = 4.0
    assert deadline.remaining() == 1.0 and deadline.remaining_whole() == 1 and not deadline.expired()
    with pytest.raises(WaitTimeout):
        wait_until(lambda: None, None, lambda: WaitTimeout("late"), deadline=deadline, first_delay=3, max_delay=3,
                   sleep=fake.sleep, clock=fake.clock, rand=lambda: 0.0)
    assert fake.sleeps == [1.0] and deadline.expired() and deadline.remaining() == 0.0


def test_sooner_takes_the_nearer_of_two_ends():
    fake = FakeTime()
    deadline = Deadline(100, clock=fake.clock)
    assert deadline.sooner(10).remaining() == 10
    fake.now = 95
    assert deadline.sooner(10).remaining() == 5
