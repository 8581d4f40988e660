"""Identifiers and clocks: string ids, stable hashed ids, epoch-millisecond timestamps."""

from __future__ import annotations

import hashlib
import threading
import time


def now_ms() -> int:
    """Current time in epoch milliseconds, the unit of every SPP timestamp."""
    return int(time.time() * 1000)


def stable_id(*parts: str) -> str:
    """A 32-hex id that depends only on its parts, so ids survive inventory runs and restarts."""
    return hashlib.md5(":".join(parts).encode(), usedforsecurity=False).hexdigest()


class Sequence:
    """Thread-safe counter handing out numeric string ids ("1005", "1006", ...)."""

    def __init__(self, start: int):
        self._next = start
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            value = self._next
            self._next += 1
        return str(value)


class MillisecondIds:
    """Unique, increasing ids that look like epoch milliseconds, as SPP job session ids do."""

    def __init__(self):
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            self._last = max(now_ms(), self._last + 1)
            return str(self._last)
