"""Jobs, job sessions and job logs (spp-api.md 5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import jobs
from ..errors import BadRequest, Conflict, NotFound
from ..http_types import Request, Response, created, ok
from ..ids import now_ms
from ..listing import Criterion, ListQuery, SortKey, list_body
from ..model import Job, JobSession
from ..restore import TEST_ACTIONS
from ..router import RouteTable
from ..views import job_status
from ._common import views

if TYPE_CHECKING:
    from ..app import App

routes = RouteTable()
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


@routes.post("/api/endeavour/job/{job_id}")
def job_action(app: App, request: Request) -> Response:
    """action=start (body may carry {"actionname": ...}), hold, release or cancel (the running session)."""
    job = _job(app, request)
    action = request.params.get("action", "")
    render = views(app, request)
    if action == "start":
        jobs.start_job(app, job)
    elif action in ("hold", "release"):
        jobs.set_held(job, action == "hold")
    elif action == "cancel":
        session = app.state.sessions.get(job.running_session_id or "")
        if session is None:
            raise Conflict(f"Job {job.name} is not running.", error_id="InvalidSessionStateException")
        jobs.cancel(session)
        return created(render.session(session))
    else:
        raise BadRequest(f"Unsupported job action {action!r}; use start, hold, release or cancel.")
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
    _job(app, request)
    return ok({"parameter": {"actionname": {"values": [{"name": "Start", "value": "start"}]}}})


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


@routes.get("/api/endeavour/jobsession")
def list_sessions(app: App, request: Request) -> Response:
    render = views(app, request)
    items = [render.session(session) for session in app.state.sessions.values()]
    return ok(list_body(request, "sessions", items, (SortKey("start", False),), _session_query(request)))


@routes.get("/api/endeavour/jobsession/history/jobid/{job_id}")
def session_history(app: App, request: Request) -> Response:
    job = _job(app, request)
    render = views(app, request)
    items = [render.session(s) for s in app.state.sessions.values() if s.job_id == job.id]
    return ok(list_body(request, "sessions", items, (SortKey("start", False),)))


@routes.get("/api/endeavour/jobsession/{session_id}")
def get_session(app: App, request: Request) -> Response:
    return ok(views(app, request).session(_session(app, request)))


@routes.post("/api/endeavour/jobsession/{session_id}")
def session_action(app: App, request: Request) -> Response:
    """action=cancel, or cleanup / rrp / clone on an active test restore; 201 with the session."""
    session = _session(app, request)
    action = request.params.get("action", "")
    if action == "cancel":
        jobs.cancel(session)
    elif action in TEST_ACTIONS:
        jobs.start_test_action(app, session, action)
    else:
        raise BadRequest(f"Unsupported job session action {action!r}; use cancel, {', '.join(TEST_ACTIONS)}.")
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
