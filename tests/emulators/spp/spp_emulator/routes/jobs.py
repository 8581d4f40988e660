"""Jobs, job sessions and job logs (spp-api.md 5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import jobs
from ..errors import BadRequest, Conflict, NotFound
from ..http_types import Request, Response, created, ok
from ..ids import now_ms
from ..listing import Criterion, ListQuery, SortKey, list_body
from ..model import Job, JobKind, JobSession
from ..router import RouteTable
from ..views import job_status
from ._common import views

if TYPE_CHECKING:
    from ..app import App

routes = RouteTable()
BACKUP_WORKFLOW = "backup"  # the start schema's workflow of an SLA job: not "start", so that it must be read
RANGE_UNITS_MS = {"minute": 60_000, "hour": 3_600_000, "day": 86_400_000}


def _job(app: App, request: Request) -> Job:
    job = app.state.jobs.get(request.path_params["job_id"])
    if job is None:
        raise NotFound(f"No job {request.path_params['job_id']}.", error_id="JobNotFoundException")
    return job


def _session(app: App, request: Request) -> JobSession:
    session = app.state.sessions.get(request.path_params["session_id"])
    if session is None:
        raise NotFound(f"No job session {request.path_params['session_id']}.", error_id="JobSessionNotFoundException")
    return session


@routes.get("/api/endeavour/job")
def list_jobs(app: App, request: Request) -> Response:
    render = views(app, request)
    return ok(list_body(request, "jobs", [render.job(job) for job in app.state.jobs.values()], (SortKey("id", False),)))


@routes.get("/api/endeavour/job/{job_id}")
def get_job(app: App, request: Request) -> Response:
    return ok(views(app, request).job(_job(app, request)))


def workflows(job: Job) -> list[dict]:
    """parameter.actionname.values of the job's start schema: the workflows a start may name (spp-api.md 5.2)."""
    if job.kind == JobKind.BACKUP:
        return [{"name": "backup to vSnap", "value": BACKUP_WORKFLOW}]
    return [{"name": "Start", "value": "start"}]


def _check_actionname(app: App, request: Request, job: Job) -> None:
    """Under the public-record profile a start names a workflow of the start schema in its body, as IBM's
    spplib/sdk/client.py JobAPI.run does ("This job requires an action parameter": samples/runjob.py)."""
    if not app.profile.start_needs_actionname:
        return
    body = request.json_object()
    values = [workflow["value"] for workflow in workflows(job)]
    if body.get("actionname") not in values:
        raise BadRequest(
            f'Starting job {job.name} requires the body {{"actionname": <value>}} with a value of its start schema '
            f"(links.start.schema: {', '.join(values)}); got {body.get('actionname')!r}."
        )


@routes.post("/api/endeavour/job/{job_id}")
def job_action(app: App, request: Request) -> Response:
    """action=start (body {"actionname": <schema value>}; required by the public-record profile), hold, release
    (not under the public-record profile) or cancel (the running session)."""
    job = _job(app, request)
    action = request.params.get("action", "")
    render = views(app, request)
    if action == "start":
        _check_actionname(app, request, job)
        # On record the answer does not name the new session: "we need to query to get it" (JobAPI.run).
        before = None if app.profile.start_answer_names_session else render.job(job)
        jobs.start_job(app, job)
        if before is not None:
            return ok(before)
    elif action in ("hold", "release") and app.profile.hold_links:
        jobs.set_held(job, action == "hold")
    elif action == "cancel":
        session = app.state.sessions.get(job.running_session_id or "")
        if session is None:
            raise Conflict(f"Job {job.name} is not running.", error_id="InvalidSessionStateException")
        jobs.cancel(session)
        return created(render.session(session))
    else:
        # Under the public-record profile hold and release are unknown actions, like any other (400): the job shows
        # no such links, and no endpoint for them is on record (spp-api.md 13.4).
        known = "start, hold, release or cancel" if app.profile.hold_links else "start or cancel"
        raise BadRequest(f"Unsupported job action {action!r}; use {known} (see the job's links).")
    return ok(render.job(job))


@routes.get("/api/endeavour/job/{job_id}/status")
def get_job_status(app: App, request: Request) -> Response:
    job = _job(app, request)
    last = app.state.sessions.get(job.last_session_id or "")
    return ok(
        {"id": job.id, "currentStatus": job_status(app.state, job), "lastSessionStatus": last.status if last else None}
    )


@routes.get("/api/endeavour/job/{job_id}/schema")
def get_job_schema(app: App, request: Request) -> Response:
    """The start schema (links.start.schema), read by IBM's JobAPI.run: parameter.actionname.values."""
    job = _job(app, request)
    return ok({"parameter": {"actionname": {"values": workflows(job)}}})


# --- sessions ----------------------------------------------------------------------------------------------------


def _session_query(request: Request) -> ListQuery:
    """The list query, with the pseudo-criteria rangeunit + range turned into start >= now - range units."""
    query = ListQuery.from_params(request.params)
    pseudo = {c.property: c.value for c in query.criteria if c.property in ("rangeunit", "range")}
    if not pseudo:
        return query
    criteria = [c for c in query.criteria if c.property not in ("rangeunit", "range")]
    unit = RANGE_UNITS_MS.get(str(pseudo.get("rangeunit", "hour")).lower())
    try:
        span = int(pseudo.get("range", 1))
    except (TypeError, ValueError) as error:
        raise BadRequest("The range filter needs an integer value.") from error
    if unit is None:
        raise BadRequest(f"rangeunit must be one of {', '.join(RANGE_UNITS_MS)}.")
    criteria.append(Criterion("start", ">=", now_ms() - span * unit))
    return ListQuery(tuple(criteria), query.sort, query.page_size, query.page_start)


def _session_list(app: App, body: dict) -> dict:
    """IBM APAR IT45897: job-session listings answer total 0; the public-record profile does so (paging still works
    through links.nextPage)."""
    if not app.profile.session_totals:
        body["total"] = 0
    return body


@routes.get("/api/endeavour/jobsession")
def list_sessions(app: App, request: Request) -> Response:
    render = views(app, request)
    items = [render.session(session) for session in app.state.sessions.values()]
    body = list_body(request, "sessions", items, (SortKey("start", False),), _session_query(request))
    return ok(_session_list(app, body))


@routes.get("/api/endeavour/jobsession/history/jobid/{job_id}")
def session_history(app: App, request: Request) -> Response:
    job = _job(app, request)
    render = views(app, request)
    items = [render.session(s) for s in app.state.sessions.values() if s.job_id == job.id]
    return ok(_session_list(app, list_body(request, "sessions", items, (SortKey("start", False),))))


@routes.get("/api/endeavour/jobsession/{session_id}")
def get_session(app: App, request: Request) -> Response:
    return ok(views(app, request).session(_session(app, request)))


@routes.post("/api/endeavour/jobsession/{session_id}")
def session_action(app: App, request: Request) -> Response:
    """action=cancel, or the clean-up (cleanup; end_iv under the public-record profile), rrp or clone action of an
    active test restore; 201 with the session."""
    session = _session(app, request)
    action = request.params.get("action", "")
    if action == "cancel":
        jobs.cancel(session)
    elif app.profile.internal_action(action):
        jobs.start_test_action(app, session, action)
    else:
        actions = ", ".join(app.profile.test_actions)
        raise BadRequest(f"Unsupported job session action {action!r}; use cancel, or {actions} (see its links).")
    return created(views(app, request).session(session))


# --- logs --------------------------------------------------------------------------------------------------------


@routes.get("/api/endeavour/log/job")
def list_logs(app: App, request: Request) -> Response:
    query = ListQuery.from_params(request.params)
    session_ids = [str(c.value) for c in query.criteria if c.property == "jobsessionId" and c.op == "="]
    logs = app.state.logs
    # The usual query names one session: read only its entries instead of every log line.
    entries = logs.get(session_ids[0], []) if session_ids else [e for per in logs.values() for e in per]
    render = views(app, request)
    return ok(
        list_body(
            request,
            "logs",
            [render.log(entry) for entry in entries],
            (SortKey("logTime", False), SortKey("id", False)),
            query,
        )
    )
