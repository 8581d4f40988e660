"""Activities: how every write of the console completes (docs/cloudtemple-api.md 5).

A write answers 201 with the activity's id in ``Location`` at once; the work runs in a daemon thread of its own:
``waiting`` for a moment, then ``running`` (with ``status``, ``startDate`` and a ``progression`` from 0 to 1), then
``completed`` (``result``) or ``failed`` (``reason``). ``state`` always has exactly one key (5.3). Durations are
multiplied by the speed factor (``--speed``), as the SPP emulator's are.

Two fault rules of the admin API act here: an activity of a given kind that fails with a given reason (before its
work, or after it with ``after_effect``), and an activity that stays ``waiting`` until the rule is cleared (#306;
the kind ``empty_assignment`` matches assignments of ``slaPolicies: []``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from spp_emulator.app import Speed
from spp_emulator.faults import FaultRegistry

from .errors import ActivityFailed, BadRequest
from .ids import iso_now, iso_time, new_activity_id

LOG = logging.getLogger(__name__)

WAITING_SECONDS = 0.5
RUNNING_SECONDS = 1.0
MAX_KEPT = 10000  # the oldest finished activities are forgotten beyond this

KINDS = ("assign_virtual_machine", "assign_virtual_disk", "run_job", "power")
EMPTY_ASSIGNMENT = "empty_assignment"  # a pseudo-kind of the waiting rule: assignments of slaPolicies []
ACTIVITY_TYPES = {"power": "ComputeActivity"}  # every other kind is a BackupActivity (5.2)


@dataclass
class Activity:
    id: str
    kind: str
    description: str
    tags: list[str]
    concerned: list[dict]
    empty_assignment: bool = False
    created: str = field(default_factory=iso_now)
    state: str = "waiting"
    start: str | None = None
    stop: str | None = None
    progression: float = 0.0
    result: str | None = None
    reason: str | None = None
    released: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def type(self) -> str:
        return ACTIVITY_TYPES.get(self.kind, "BackupActivity")

    def render(self, tenant_id: str, initiator: str) -> dict:
        if self.state == "waiting":
            state: dict = {"waiting": {}}
        elif self.state == "running":
            state = {"running": {"status": f"Task {self.type} is now in state: running", "startDate": self.start,
                                 "progression": round(self.progression, 2)}}
        elif self.state == "completed":
            state = {"completed": {"startDate": self.start, "stopDate": self.stop, "result": self.result}}
        else:
            state = {"failed": {"startDate": self.start, "stopDate": self.stop, "reason": self.reason}}
        return {
            "id": self.id,
            "tenantId": tenant_id,
            "description": self.description,
            "type": self.type,
            "operationType": "write",
            "tags": list(self.tags),
            "initiator": initiator,
            "creationDate": self.created,
            "concernedItems": [dict(item) for item in self.concerned],
            "state": state,
        }


@dataclass
class Rule:
    kind: str  # a KINDS value, EMPTY_ASSIGNMENT (waiting rules only) or "*"
    remaining: int | None  # None: until cleared
    reason: str = ""
    after_effect: bool = False

    def matches(self, activity: Activity) -> bool:
        if self.kind == EMPTY_ASSIGNMENT:
            return activity.empty_assignment
        return self.kind in ("*", activity.kind)


def parse_rule(body: dict, *, waiting: bool) -> Rule:
    kinds = (*KINDS, "*", *((EMPTY_ASSIGNMENT,) if waiting else ()))
    kind = body.get("kind", "*")
    if kind not in kinds:
        raise BadRequest(f"kind must be one of {', '.join(kinds)}.")
    count = body.get("count", 1)
    if count is not None and (not isinstance(count, int) or isinstance(count, bool)):
        raise BadRequest("count must be an integer (0, negative or null: until cleared).")
    after_effect = body.get("after_effect", False)
    if not isinstance(after_effect, bool) or (after_effect and waiting):
        raise BadRequest("after_effect must be true or false, and only for a failure rule.")
    reason = str(body.get("reason") or "Injected failure (emulator admin API).")
    return Rule(kind, count if count is not None and count > 0 else None, reason, after_effect)


class Rules(FaultRegistry):
    """Activity rules of one sort: the SPP emulator's fault registry (add, clear, describe), holding Rules, each
    consumed by the activities it matches."""

    def take(self, activity: Activity) -> Rule | None:  # pylint: disable=arguments-differ
        with self._lock:
            rule = next((rule for rule in self._faults if rule.matches(activity)), None)
            if rule is not None and rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._faults.remove(rule)
            return rule


class ActivityRun:
    """What an activity's work uses: progress, and speed-scaled pauses."""

    def __init__(self, activities: Activities, activity: Activity):
        self._activities = activities
        self.activity = activity

    def progress(self, fraction: float, pause: float = 0.0) -> None:
        if pause:
            time.sleep(self._activities.speed.scaled(pause))
        with self._activities.lock:
            self.activity.progression = max(self.activity.progression, min(0.99, fraction))


class Activities:
    def __init__(self, speed: Speed):
        self.speed = speed
        self.lock = threading.Lock()
        self._items: dict[str, Activity] = {}
        self.failures = Rules()
        self.waiting = Rules()
        self._held: list[Activity] = []
        self.generation = 0  # a reset bumps it: activities of an earlier generation stop where they are

    def get(self, activity_id: str) -> Activity | None:
        with self.lock:
            return self._items.get(activity_id)

    def all(self) -> list[Activity]:
        with self.lock:
            return list(self._items.values())

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for activity in self.all():
            counts[activity.state] = counts.get(activity.state, 0) + 1
        return counts

    def reset(self) -> None:
        with self.lock:
            self.generation += 1
            self._items = {}
        self.release_all()
        self.failures.clear()

    def release_all(self) -> int:
        """Clear the waiting rules and let the activities they hold go on."""
        self.waiting.clear()
        with self.lock:
            held, self._held = self._held, []
        for activity in held:
            activity.released.set()
        return len(held)

    def launch(self, activity: Activity, work: Callable[[ActivityRun], str | None]) -> Activity:
        with self.lock:
            self._items[activity.id] = activity
            if len(self._items) > MAX_KEPT:
                finished = [key for key, item in self._items.items() if item.state in ("completed", "failed")]
                for key in finished[: len(self._items) - MAX_KEPT]:
                    del self._items[key]
        threading.Thread(target=self._run, args=(activity, work), name=f"activity-{activity.id[:8]}",
                         daemon=True).start()
        return activity

    def _run(self, activity: Activity, work: Callable[[ActivityRun], str | None]) -> None:
        generation = self.generation
        if self.waiting.take(activity) is not None:
            with self.lock:
                self._held.append(activity)
            activity.released.wait()  # for ever, unless the waiting rules are cleared (#306)
            if generation != self.generation:
                return  # the emulator was reset meanwhile: this activity no longer exists
        time.sleep(self.speed.scaled(WAITING_SECONDS))
        with self.lock:
            activity.state, activity.start, activity.progression = "running", iso_now(), 0.1
        failure = self.failures.take(activity)
        if failure is not None and not failure.after_effect:
            time.sleep(self.speed.scaled(RUNNING_SECONDS / 2))
            self._finish(activity, reason=failure.reason)
            return
        try:
            result = work(ActivityRun(self, activity))
        except ActivityFailed as refused:
            self._finish(activity, reason=refused.reason)
            return
        except Exception as error:  # pylint: disable=broad-exception-caught  # the activity fails, the server lives
            LOG.exception("activity %s (%s) failed unexpectedly", activity.id, activity.kind)
            self._finish(activity, reason=f"Internal error of the console emulator: {type(error).__name__}")
            return
        time.sleep(self.speed.scaled(RUNNING_SECONDS / 2))
        if failure is not None:  # after_effect: the work happened, yet the activity fails
            self._finish(activity, reason=failure.reason)
        else:
            self._finish(activity, result=result)

    def _finish(self, activity: Activity, result: str | None = None, reason: str | None = None) -> None:
        with self.lock:
            activity.stop = iso_time(time.time())
            activity.state = "failed" if reason is not None else "completed"
            activity.result, activity.reason = result, reason
            activity.progression = 1.0


def new_activity(kind: str, description: str, tags: list[str], concerned: list[dict], *,
                 empty_assignment: bool = False) -> Activity:
    return Activity(new_activity_id(), kind, description, tags, concerned, empty_assignment)
