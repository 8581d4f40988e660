"""Fault injection and request counting for the admin API (paths under /__emulator__ are never affected)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass

from .errors import BadRequest

METHODS = ("GET", "POST", "PUT", "DELETE", "*")


@dataclass
class Fault:
    method: str
    path_prefix: str
    remaining: int | None  # None: until cleared
    status: int | None = None
    retry_after: int | None = None
    latency_ms: int = 0
    drop_after_effect: bool = False
    skip: int = 0  # let this many matching requests through first ("a fault in the middle of a run")
    after_effect: bool = False  # handle the request first, then wait latency_ms and answer status
    tls_error_after_effect: bool = False  # handle the request, then break the TLS stream instead of answering

    @property
    def decisive(self) -> bool:
        """Whether the fault decides the answer (a status, a drop, a TLS error), rather than only delaying it."""
        return self.status is not None or self.drop_after_effect or self.tls_error_after_effect

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and path.startswith(self.path_prefix)


@dataclass(frozen=True)
class FaultPlan:
    """What to do with one request: wait, then answer with an error status, or handle it and drop the answer or break
    the TLS stream.

    ``latency_seconds`` is waited before the request is handled, ``latency_after_seconds`` after it (faults with
    ``after_effect``). With ``after_effect``, the request is handled (its effect happens) before ``status`` answers.
    """

    latency_seconds: float = 0.0
    status: int | None = None
    retry_after: int | None = None
    drop_after_effect: bool = False
    after_effect: bool = False
    latency_after_seconds: float = 0.0
    tls_error_after_effect: bool = False

    @property
    def handles_request(self) -> bool:
        """Whether the request is handled: always, except when a status answers instead of it."""
        return self.status is None or self.after_effect


def parse_fault(body: dict) -> Fault:
    method = str(body.get("method", "*")).upper()
    if method not in METHODS:
        raise BadRequest(f"method must be one of {', '.join(METHODS)}.")
    path_prefix = str(body.get("path_prefix", "/"))
    count = body.get("count", 1)
    if count is not None and (not isinstance(count, int) or isinstance(count, bool)):
        raise BadRequest("count must be an integer (0, negative or null: until cleared).")
    status, latency = body.get("status"), body.get("latency_ms", 0)
    drop, tls_error = bool(body.get("drop_after_effect")), bool(body.get("tls_error_after_effect"))
    if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
        raise BadRequest("status must be an HTTP error status (400-599).")
    if not isinstance(latency, int) or latency < 0:
        raise BadRequest("latency_ms must be a non-negative integer.")
    if (status is not None) + drop + tls_error > 1:
        raise BadRequest("A fault answers with a status, drops the answer or breaks TLS: one of them, not several.")
    if status is None and not drop and not tls_error and not latency:
        raise BadRequest("A fault needs one of status, latency_ms, drop_after_effect or tls_error_after_effect.")
    after_effect = body.get("after_effect", False)
    if not isinstance(after_effect, bool):
        raise BadRequest("after_effect must be true or false.")
    if after_effect and (drop or tls_error):
        raise BadRequest("drop_after_effect and tls_error_after_effect already happen after the effect; leave "
                         "after_effect out.")
    retry_after = body.get("retry_after")
    if retry_after is not None and (not isinstance(retry_after, int) or retry_after < 0):
        raise BadRequest("retry_after must be a non-negative integer (seconds).")
    skip = body.get("after", 0)
    if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
        raise BadRequest("after must be a non-negative integer (matching requests let through first).")
    remaining = count if count is not None and count > 0 else None
    return Fault(method, path_prefix, remaining, status, retry_after, latency, drop, skip, after_effect, tls_error)


class FaultRegistry:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults = []

    def describe(self) -> list[dict]:
        with self._lock:
            return [asdict(fault) for fault in self._faults]

    def take(self, method: str, path: str) -> FaultPlan:
        """Consume the faults that apply to this request: all matching latencies add up (those of ``after_effect``
        faults after the request is handled, the others before); the first matching status or drop fault decides the
        outcome."""
        latency_ms, latency_after_ms, outcome = 0, 0, None
        with self._lock:
            for fault in self._faults:
                decisive = fault.decisive
                if not fault.matches(method, path) or (decisive and outcome is not None):
                    continue  # a second status/drop fault waits for a later request
                if fault.skip:
                    fault.skip -= 1
                    continue
                if fault.after_effect:
                    latency_after_ms += fault.latency_ms
                else:
                    latency_ms += fault.latency_ms
                if decisive:
                    outcome = fault
                if fault.remaining is not None:
                    fault.remaining -= 1
            self._faults = [fault for fault in self._faults if fault.remaining is None or fault.remaining > 0]
        if outcome is None:
            return FaultPlan(latency_ms / 1000, latency_after_seconds=latency_after_ms / 1000)
        return FaultPlan(latency_ms / 1000, outcome.status, outcome.retry_after, outcome.drop_after_effect,
                         outcome.after_effect, latency_after_ms / 1000, outcome.tls_error_after_effect)


class RequestCounter:
    """How many requests each "METHOD /path" received (query strings left out), and, for those with an ``action``
    parameter, each "METHOD /path?action=NAME" (one path serves restore, adhoc and applySLAPolicies)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._actions: Counter[str] = Counter()

    def add(self, method: str, path: str, action: str | None = None) -> None:
        with self._lock:
            self._counts[f"{method} {path}"] += 1
            if action:
                self._actions[f"{method} {path}?action={action}"] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def actions(self) -> dict[str, int]:
        with self._lock:
            return dict(self._actions)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._actions.clear()
