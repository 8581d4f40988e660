# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one fake clock of the unit tests: a monotonic clock that only ``sleep`` moves, so that waits, deadlines and
backoff run without sleeping for real."""

from __future__ import annotations


class FakeTime:
    """``clock()`` and ``sleep(seconds)`` for code that takes them; ``sleeps`` records every pause asked for."""

    def __init__(self, start=0.0):
        self.now = start
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
