"""The emulator's admin API under /__emulator__ (no SPP session needed; see the README)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..errors import BadRequest, NotFound
from ..faults import parse_fault
from ..http_types import Request, Response, ok
from ..model import JobKind
from ..router import RouteTable
from ..state import State, VmFailure
from ._common import views

if TYPE_CHECKING:
    from ..app import App

routes = RouteTable()
ADMIN = "/__emulator__"
HOUR_MS = 3_600_000


@routes.post(f"{ADMIN}/reset", public=True, locked=False)
def reset(app: App, request: Request) -> Response:
    """Drop SLAs, assignments, options, jobs, sessions, logs, versions, faults and VM failures;
    {"inventory": true} also re-reads vCenter (synchronously)."""
    body = request.json_object()
    with app.state.lock:
        app.state.reset()
    app.faults.clear()
    if body.get("inventory"):
        app.refresh_inventory()
    return ok({"reset": True, "vms": len(app.state.inventory.vms)})


@routes.post(f"{ADMIN}/inventory", public=True, locked=False)
def inventory(app: App, request: Request) -> Response:
    """Re-read vCenter now, without a job session (tests use it to prepare; clients run the inventory job)."""
    return ok({"vms": len(app.refresh_inventory().vms)})


@routes.get(f"{ADMIN}/state", public=True)
def dump_state(app: App, request: Request) -> Response:
    state = app.state
    render = views(app, request)
    return ok(
        {
            "profile": app.profile.name,
            "slas": [render.sla(sla) for sla in state.slas.values()],
            "vm_policies": {vm_id: list(names) for vm_id, names in state.vm_policies.items()},
            "disk_policies": {disk_id: list(names) for disk_id, names in state.disk_policies.items()},
            "vm_options": {vm_id: dict(options) for vm_id, options in state.vm_options.items()},
            "jobs": [render.job(job) for job in state.jobs.values()],
            "sessions": [render.session(session) for session in state.sessions.values()],
            # What each restore session did, per VM: the API does not say it (postRestoreInfo lists no VMs).
            "restores": {
                session.id: [dict(entry) for entry in session.restored]
                for session in state.sessions.values()
                if session.kind == JobKind.RESTORE
            },
            "versions": {
                vm_id: [render.version(v, embed_copies=True) for v in versions]
                for vm_id, versions in state.versions.items()
            },
            "vms": {
                vm.id: {"name": vm.name, "moref": vm.moref, "instanceUuid": vm.instance_uuid}
                for vm in state.inventory.vms.values()
            },
            "request_counts": app.requests.snapshot(),
            "faults": app.faults.describe(),
            "speed": app.speed.factor,
            "session_ttl": state.logins.ttl_seconds,
            "login_session_ids": list(state.logins.issued),
        }
    )


@routes.get(f"{ADMIN}/profile", public=True, locked=False)
def profile(app: App, request: Request) -> Response:
    """The profile chosen at start (--profile): default or public-record."""
    return ok({"profile": app.profile.name})


@routes.post(f"{ADMIN}/faults", public=True, locked=False)
def add_fault(app: App, request: Request) -> Response:
    app.faults.add(parse_fault(request.json_object()))
    return ok({"faults": app.faults.describe()})


@routes.get(f"{ADMIN}/faults", public=True, locked=False)
def list_faults(app: App, request: Request) -> Response:
    return ok({"faults": app.faults.describe()})


@routes.delete(f"{ADMIN}/faults", public=True, locked=False)
def clear_faults(app: App, request: Request) -> Response:
    app.faults.clear()
    return ok({"faults": []})


@routes.post(f"{ADMIN}/sessions/expire", public=True)
def expire_sessions(app: App, request: Request) -> Response:
    app.state.logins.expire_all()
    return ok({"expired": True})


@routes.post(f"{ADMIN}/session-ttl", public=True)
def session_ttl(app: App, request: Request) -> Response:
    seconds = request.json_object().get("seconds")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds <= 0:
        raise BadRequest("seconds must be a positive number.")
    app.state.logins.ttl_seconds = float(seconds)
    return ok({"seconds": seconds})


@routes.post(f"{ADMIN}/vm-failure", public=True)
def vm_failure(app: App, request: Request) -> Response:
    """{"vm": name or id, "message": "...", "count": n (optional; default: every backup until cleared)}."""
    body = request.json_object()
    key = str(body.get("vm") or "")
    vms = app.state.inventory.vms
    if key not in vms and not any(vm.name == key for vm in vms.values()):
        raise NotFound(f"No VM named or identified {key!r} in the inventory.")
    count = body.get("count")
    if count is not None and (not isinstance(count, int) or count < 1):
        raise BadRequest("count must be a positive integer.")
    message = str(body.get("message") or "Injected failure (emulator admin API).")
    app.state.vm_failures[key] = VmFailure(message, count)
    return ok({"vm": key, "message": message, "count": count})


@routes.delete(f"{ADMIN}/vm-failure", public=True)
def clear_vm_failures(app: App, request: Request) -> Response:
    app.state.vm_failures.clear()
    return ok({"cleared": True})


@routes.post(f"{ADMIN}/restore-failure", public=True)
def restore_failure(app: App, request: Request) -> Response:
    """{"vm": name or id of a VM with recovery points, "message": "...", "count": n (optional; default: every
    restore until cleared)}: restores of that VM fail before they touch vCenter."""
    body = request.json_object()
    key = str(body.get("vm") or "")
    state = app.state
    vms = [vm for vm in (state.recovery_vm(vm_id) for vm_id in state.versions) if vm is not None]
    if not any(key in (vm.id, vm.name) for vm in vms):
        raise NotFound(f"No VM named or identified {key!r} has recovery points.")
    count = body.get("count")
    if count is not None and (not isinstance(count, int) or count < 1):
        raise BadRequest("count must be a positive integer.")
    message = str(body.get("message") or "Injected restore failure (emulator admin API).")
    state.restore_failures[key] = VmFailure(message, count)
    return ok({"vm": key, "message": message, "count": count})


@routes.delete(f"{ADMIN}/restore-failure", public=True)
def clear_restore_failures(app: App, request: Request) -> Response:
    app.state.restore_failures.clear()
    return ok({"cleared": True})


@routes.post(f"{ADMIN}/age", public=True)
def age(app: App, request: Request) -> Response:
    """{"hours": h > 0, "vms": [moref or id] (optional), "sessions": [id] (optional)}: move recovery points and job
    sessions h hours into the past. Without either list, everything moves; with lists, only what they name."""
    body = request.json_object()
    hours = body.get("hours")
    if not isinstance(hours, (int, float)) or isinstance(hours, bool) or not math.isfinite(hours) or hours <= 0:
        raise BadRequest("hours must be a positive number.")
    vm_keys, session_ids = _id_list(body, "vms"), _id_list(body, "sessions")
    state = app.state
    if vm_keys is None and session_ids is None:
        vm_ids, session_ids = list(state.versions), list(state.sessions)
    else:
        vm_ids = _vm_ids(state, vm_keys or [])  # everything is checked before anything moves
        unknown = [session_id for session_id in session_ids or [] if session_id not in state.sessions]
        if unknown:
            raise NotFound(f"No job session {', '.join(unknown)}.")
    delta_ms = round(hours * HOUR_MS)
    return ok(
        {
            "aged_versions": state.age_versions(vm_ids, delta_ms),
            "aged_sessions": state.age_sessions(session_ids or [], delta_ms),
        }
    )


def _id_list(body: dict, name: str) -> list[str] | None:
    """The optional list `name` of the body, without duplicates (an id named twice must not age twice)."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(item, str) and item for item in value):
        raise BadRequest(f"{name} must be a non-empty list of ids.")
    return list(dict.fromkeys(value))


def _vm_ids(state: State, keys: list[str]) -> list[str]:
    """SPP VM ids of VMs named by id or moref, live or deleted with recovery points; 404 names the unknown ones."""
    recorded = {vm.moref: vm.id for vm in state.known_vms.values()}
    ids, unknown = [], []
    for key in keys:
        if key in state.inventory.vms or key in state.versions:
            ids.append(key)
        elif key in state.inventory.vms_by_moref:
            ids.append(state.inventory.vms_by_moref[key].id)
        elif key in recorded:
            ids.append(recorded[key])
        else:
            unknown.append(key)
    if unknown:
        raise NotFound(f"No VM with the id or moref {', '.join(unknown)} in the inventory or the recovery points.")
    return list(dict.fromkeys(ids))


@routes.post(f"{ADMIN}/speed", public=True, locked=False)
def speed(app: App, request: Request) -> Response:
    factor = request.json_object().get("factor")
    if not isinstance(factor, (int, float)) or isinstance(factor, bool) or factor < 0:
        raise BadRequest("factor must be a non-negative number.")
    app.speed.factor = float(factor)
    return ok({"factor": app.speed.factor})


@routes.get(f"{ADMIN}/requests", public=True, locked=False)
def request_counts(app: App, request: Request) -> Response:
    counts = app.requests.snapshot()
    return ok({"counts": counts, "actions": app.requests.actions(), "total": sum(counts.values())})


@routes.delete(f"{ADMIN}/requests", public=True, locked=False)
def reset_request_counts(app: App, request: Request) -> Response:
    app.requests.reset()
    return ok({"counts": {}, "actions": {}, "total": 0})
