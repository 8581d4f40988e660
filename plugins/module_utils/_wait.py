# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one waiter of the collection: a deadline, exponential backoff with jitter, and progress reports.

Considered private: only this collection may import it. Every wait (vCenter tasks, SPP job sessions, power states,
inventory rescans, restore sessions) goes through ``wait_until``; nothing else compares a clock with a deadline.
The backoff doubles from ``first_delay`` up to ``max_delay`` and adds up to 10 % of jitter, as vmware.vmware's
``RunningTaskMonitor`` does, so that many waiters do not poll a server in step. Clocks and sleep are parameters, so
that unit tests run without waiting.
"""

from __future__ import annotations

import random
import time

JITTER = 0.1


class Deadline:
    """The end of a task's time budget, shared by the waits of one task."""

    def __init__(self, seconds, clock=time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self.started = clock()
        self.end = self.started + seconds

    def remaining(self):
        """Seconds left, never below 0."""
        return max(0.0, self.end - self.clock())

    def remaining_whole(self):
        """Seconds left as a whole number of at least 1, for calls that take a timeout in seconds."""
        return max(1, int(self.remaining()))

    def elapsed(self):
        return self.clock() - self.started

    def expired(self):
        return self.clock() >= self.end

    def sooner(self, seconds):
        """A deadline ``seconds`` from now, or this one if it comes first."""
        return Deadline(min(seconds, self.remaining()), self.clock)


def poll_delay(attempt, first_delay, max_delay, rand=random.random):
    """Wait before poll number ``attempt`` + 1: doubling from ``first_delay``, capped, plus up to 10 % jitter."""
    delay = min(max_delay, first_delay * (2 ** attempt))
    return delay + rand() * delay * JITTER


def wait_until(check, timeout=None, on_timeout=None, progress=None, first_delay=1.0, max_delay=16.0,
               deadline=None, sleep=time.sleep, clock=time.monotonic, rand=random.random):
    """Call ``check()`` until it returns something other than None, and return that.

    ``check`` runs at least once. The wait ends at ``deadline`` (a ``Deadline``) or after ``timeout`` seconds;
    then ``on_timeout()`` is raised (it returns the exception, so that its message can describe the last state).
    ``progress(elapsed, remaining)`` is called before each pause, for a line of progress. The last pause is cut so
    that the deadline is not overshot.
    """
    if deadline is None:
        deadline = Deadline(timeout if timeout is not None else 0, clock)
    attempt = 0
    while True:
        result = check()
        if result is not None:
            return result
        remaining = deadline.remaining()
        if remaining <= 0:
            raise on_timeout()
        if progress is not None:
            progress(deadline.elapsed(), remaining)
        sleep(min(poll_delay(attempt, first_delay, max_delay, rand), remaining))
        attempt += 1
