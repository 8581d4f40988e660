"""Background execution of job sessions: status transitions, progress, logs and speed-scaled waits.

Each session runs in its own daemon thread: PENDING for a moment, then RUNNING while its work function drives
vCenter, then the status the work returns. The state lock is taken only for short updates.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import TYPE_CHECKING, Callable, Iterator, Sequence, TypeVar

from . import messages
from .ids import now_ms
from .messages import Message
from .model import Counts, JobSession, Status
from .vcenter import VCENTER_ERRORS, connect

if TYPE_CHECKING:
    from .app import App

LOG = logging.getLogger(__name__)
Item = TypeVar("Item")

PENDING_SECONDS = 0.5  # every duration is multiplied by the speed factor


class SessionRun:
    """What a work function uses to drive its job session."""

    def __init__(self, app: App, session: JobSession):
        self.app = app
        self.session = session
        self._generation = app.state.generation

    @property
    def current(self) -> bool:
        """False once the emulator was reset: the session no longer exists and must not touch the new state."""
        return self.app.state.generation == self._generation

    @property
    def cancelled(self) -> bool:
        return self.session.cancel.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep seconds x speed factor; True when the session was cancelled meanwhile."""
        return self.session.cancel.wait(self.app.speed.scaled(seconds))

    def log(self, message: Message, **params: object) -> None:
        text, values = message.render(**params)
        with self.app.state.lock:
            if self.current:
                self.app.state.add_log(self.session.id, message.type, message.id, text, values)

    def set_status(self, status: str) -> None:
        with self.app.state.lock:
            self.session.status = status

    def count(self, counts: Counts, outcome: str, number: int = 1) -> None:
        """Add to success/failed/skipped of counts (vm_counts or disk_counts of this session)."""
        with self.app.state.lock:
            setattr(counts, outcome, getattr(counts, outcome) + number)

    def progress(self, done: int, total: int) -> None:
        with self.app.state.lock:
            self.session.percent = min(99, int(100 * done / total)) if total else 99

    def with_state(self, change: Callable[[], object]) -> object:
        """Run change() under the state lock, unless the emulator was reset since the session started."""
        with self.app.state.lock:
            return change() if self.current else None

    @contextlib.contextmanager
    def vcenter(self) -> Iterator[object]:
        with connect(self.app.vcenter_config) as service_instance:
            yield service_instance

    def finish(self, status: str, results: str = "") -> None:
        """End the session with status; Status.TEST_ACTIVE leaves it PENDING with its test-restore links."""
        test_active = status == Status.TEST_ACTIVE
        with self.app.state.lock:
            session = self.session
            session.status = Status.PENDING if test_active else status
            session.test_active = test_active
            session.percent = 100
            session.results = "IV test active" if test_active else results or session.results
            if not test_active:
                session.end_ms = now_ms()
            job = self.app.state.jobs.get(session.job_id)
            if job and job.running_session_id == session.id:
                job.running_session_id = None
        if test_active:
            return  # not finished: it waits for its clean-up, rrp or clone action
        counts = self.session.vm_counts
        self.log(
            messages.JOB_FINISHED,
            job=self.session.job_name,
            status=status,
            success=counts.success,
            total=counts.total,
            failed=counts.failed,
            skipped=counts.skipped,
        )


def final_status(counts: Counts) -> str:
    """COMPLETED when nothing failed, FAILED when nothing succeeded, PARTIAL in between (spp-api.md 14.8)."""
    if counts.failed == 0:
        return Status.COMPLETED
    return Status.FAILED if counts.success == 0 else Status.PARTIAL


def process_items(
    run: SessionRun,
    items: Sequence[Item],
    process: Callable[[object, Item], str],
    counts: Counts,
    *,
    seconds: float,
    unreachable: Callable[[Item, Exception], None],
    stop_after_failure: bool = False,
) -> None:
    """process(service_instance, item) -> success | failed | skipped for each item, over one vCenter connection,
    counting outcomes as they come and spreading `seconds` of simulated time over the items. When vCenter cannot be
    reached, unreachable(item, error) reports each item left, and they count as failed."""
    pause = seconds / max(1, len(items))
    processed = 0
    try:
        with run.vcenter() as service_instance:
            for item in items:
                if run.cancelled:
                    break
                outcome = process(service_instance, item)
                processed += 1
                run.count(counts, outcome)
                run.progress(processed, len(items))
                run.wait(pause)
                if outcome == "failed" and stop_after_failure:
                    break
    except VCENTER_ERRORS as error:
        for item in items[processed:]:
            unreachable(item, error)
        run.count(counts, "failed", len(items) - processed)


class JobRunner:
    def __init__(self, app: App):
        self.app = app

    def launch(self, session: JobSession, work: Callable[[SessionRun], str], *, pending: bool = True) -> None:
        """Run work(run) for the session in a new thread; work returns the final status."""
        thread = threading.Thread(
            target=self.run, args=(session, work, pending), name=f"session-{session.id}", daemon=True
        )
        thread.start()

    def run(self, session: JobSession, work: Callable[[SessionRun], str], pending: bool = True) -> None:
        run = SessionRun(self.app, session)
        try:
            if pending and run.wait(PENDING_SECONDS):
                run.log(messages.JOB_CANCELED, job=session.job_name)
                run.finish(Status.CANCELED)
                return
            run.set_status(Status.RUNNING)
            run.log(messages.JOB_STARTED, job=session.job_name, session=session.id)
            status = work(run)
            if run.cancelled and status != Status.TEST_ACTIVE:
                run.log(messages.JOB_CANCELED, job=session.job_name)
                status = Status.CANCELED
            run.finish(status)
        except Exception as error:  # pylint: disable=broad-exception-caught  # the session must end, reason logged
            LOG.exception("job session %s failed", session.id)
            run.log(messages.INTERNAL_ERROR, error=error)
            run.finish(Status.FAILED)
