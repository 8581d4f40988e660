"""Starting job sessions (job start, ad hoc backup, restore, test-restore actions) and job control (hold, release,
cancel). Every function here runs under the state lock, in a request handler; the work itself runs in a worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import backup, messages, restore, restore_plan
from .errors import Conflict
from .model import Job, JobKind, JobSession, Status
from .runner import SessionRun
from .vcenter import VCENTER_ERRORS

if TYPE_CHECKING:
    from .app import App
    from .views import Views

INVENTORY_SECONDS = 1.0
MAINTENANCE_SECONDS = 0.5


def ensure_idle(app: App, job: Job) -> None:
    running = app.state.sessions.get(job.running_session_id or "")
    if running and running.active:
        raise Conflict(
            f"Job {job.name} is already running (job session {running.id}); concurrent runs for the same job is "
            "not supported.",
            error_id="JobAlreadyRunningException",
        )


def start_job(app: App, job: Job) -> JobSession:
    """Run a job now. A held job can still be started by hand: holding only suspends its schedule."""
    if job.kind == JobKind.RESTORE:
        raise Conflict(f"{job.name} is an on-demand restore; post a new restore instead of running it again.")
    ensure_idle(app, job)
    if job.kind == JobKind.BACKUP:
        return start_backup(app, job.policy_name or "")
    session = app.state.new_session(job)
    work = _inventory_work if job.kind == JobKind.INVENTORY else _maintenance_work
    app.runner.launch(session, work)
    return session


def start_backup(app: App, sla_name: str, vm_ids: list[str] | None = None) -> JobSession:
    """A backup session of the SLA's job, for all its resources or (ad hoc) only those of vm_ids."""
    state = app.state
    job = state.ensure_sla_job(sla_name)
    ensure_idle(app, job)
    sla = state.sla_by_name(sla_name)
    items = backup.plan(state, sla_name, vm_ids)
    session = state.new_session(job, sla_name)
    app.runner.launch(session, lambda run: backup.execute(run, sla, items))
    return session


def start_restore(app: App, body: dict, render: Views) -> tuple[Job, JobSession]:
    plan = restore_plan.plan(app.state, body, render)
    job = app.state.add_restore_job()
    session = app.state.new_session(job)
    session.restore_mode = plan.mode
    app.runner.launch(session, lambda run: restore.execute(run, plan))
    return job, session


def start_test_action(app: App, session: JobSession, link_name: str) -> None:
    """The clean-up (cleanup or end_iv, by profile), rrp or clone action of an active test restore: a session in
    PENDING that shows these links (spp-api.md 14.9)."""
    if not session.test_active:
        raise Conflict(
            f"Job session {session.id} is {session.status} and has no {link_name} link; {link_name} applies only to "
            f"an active test restore ({Status.PENDING} with the links {', '.join(app.profile.test_actions)}).",
            error_id="InvalidSessionStateException",
        )
    action = app.profile.internal_action(link_name) or link_name
    versions = {
        version.id: version for entry in session.restored for version in app.state.versions.get(entry["sourceVmId"], [])
    }
    session.test_active = False
    session.status = Status.RUNNING
    session.results = f"{link_name} requested"
    job = app.state.jobs.get(session.job_id)
    if job:
        job.running_session_id = session.id
    app.runner.launch(session, lambda run: restore.execute_action(run, action, versions), pending=False)


def cancel(session: JobSession) -> None:
    if not session.active:
        raise Conflict(
            f"Job session {session.id} is {session.status}; only pending or running sessions can be " "canceled.",
            error_id="InvalidSessionStateException",
        )
    session.status = Status.CANCELING
    session.cancel.set()


def set_held(job: Job, held: bool) -> None:
    if job.kind == JobKind.RESTORE:
        raise Conflict(f"{job.name} is an on-demand restore and has no schedule to hold or release.")
    job.held = held


def _inventory_work(run: SessionRun) -> str:
    app = run.app
    try:
        inventory = app.read_inventory()
    except VCENTER_ERRORS as error:
        run.log(messages.INVENTORY_FAILED, hypervisor=app.state.hypervisor.name, reason=error)
        return Status.FAILED
    run.with_state(lambda: app.state.apply_inventory(inventory))
    run.log(
        messages.INVENTORY_DONE,
        hypervisor=app.state.hypervisor.name,
        vms=len(inventory.vms),
        hosts=len(inventory.hosts),
    )
    with app.state.lock:
        run.session.vm_counts.total = run.session.vm_counts.success = len(inventory.vms)
    run.wait(INVENTORY_SECONDS)
    return Status.COMPLETED


def _maintenance_work(run: SessionRun) -> str:
    run.log(messages.MAINTENANCE_DONE)
    run.wait(MAINTENANCE_SECONDS)
    return Status.COMPLETED
