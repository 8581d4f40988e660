"""SLA policy CRUD on /ngp/slapolicy (plain JSON, spp-api.md 14.3) and its read-only view /api/spec/storageprofile."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from ..errors import BadRequest, Conflict, NotFound
from ..http_types import Request, Response, created, no_content, ok
from ..listing import SortKey, list_body
from ..model import Sla, site_by_name
from ..router import RouteTable
from ._common import views

if TYPE_CHECKING:
    from ..app import App

routes = RouteTable()
BY_ID = (SortKey("id", False),)


def _sla(app: App, request: Request) -> Sla:
    sla = app.state.slas.get(request.path_params["sla_id"])
    if sla is None:
        raise NotFound(f"No SLA policy {request.path_params['sla_id']}.", error_id="SlaPolicyNotFoundException")
    return sla


def _validated(body: dict) -> str:
    """The policy name of a create/update body, after checking its shape; raises BadRequest."""
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("An SLA policy needs a non-empty 'name'.")
    spec = body.get("spec")
    subpolicies = spec.get("subpolicy") if isinstance(spec, dict) else None
    if not isinstance(subpolicies, list) or not subpolicies:
        raise BadRequest("An SLA policy needs spec.subpolicy: a list with at least the backup subpolicy.")
    for subpolicy in subpolicies:
        if not isinstance(subpolicy, dict) or not subpolicy.get("type"):
            raise BadRequest("Each subpolicy must be an object with a 'type'.")
        site = subpolicy.get("site")
        if site is not None and site_by_name(str(site)) is None:
            raise BadRequest(f"Unknown site {site!r}; list the sites with GET /api/site.")
        if not isinstance(subpolicy.get("retention", {}), dict) or not isinstance(subpolicy.get("trigger", {}), dict):
            raise BadRequest("subpolicy.retention and subpolicy.trigger must be objects.")
    return name.strip()


def _ensure_unique(app: App, name: str, except_id: str | None = None) -> None:
    existing = app.state.sla_by_name(name)
    if existing and existing.id != except_id:
        raise Conflict(
            f"An SLA policy named {name} already exists (id {existing.id}).", error_id="SlaPolicyAlreadyExistsException"
        )


@routes.get("/ngp/slapolicy")
def list_slas(app: App, request: Request) -> Response:
    render = views(app, request)
    return ok(list_body(request, "slapolicies", [render.sla(sla) for sla in app.state.slas.values()], BY_ID))


@routes.get("/ngp/slapolicy/{sla_id}")
def get_sla(app: App, request: Request) -> Response:
    return ok(views(app, request).sla(_sla(app, request)))


@routes.post("/ngp/slapolicy")
def create_sla(app: App, request: Request) -> Response:
    body = request.json_object()
    name = _validated(body)
    _ensure_unique(app, name)
    return created(views(app, request).sla(app.state.add_sla(name, body)))


@routes.put("/ngp/slapolicy/{sla_id}")
def update_sla(app: App, request: Request) -> Response:
    """Same name: update in place. New name: rename, and leave a copy of the original under a new id, which
    keeps the original's assignments and job (assignments are by name) (spp-api.md 3.3)."""
    sla = _sla(app, request)
    body = request.json_object()
    name = _validated(body)
    if name != sla.name:
        _ensure_unique(app, name, except_id=sla.id)
        app.state.add_sla(
            sla.name, {"description": sla.description, "type": sla.type, "version": sla.version, "spec": sla.spec}
        )
        sla.name = name
    sla.description = str(body.get("description", sla.description) or "")
    sla.type = str(body.get("type") or sla.type)
    sla.version = str(body.get("version") or sla.version)
    sla.spec = copy.deepcopy(body["spec"])
    return ok(views(app, request).sla(sla))


@routes.delete("/ngp/slapolicy/{sla_id}")
def delete_sla(app: App, request: Request) -> Response:
    sla = _sla(app, request)
    state = app.state
    vm_ids, disk_ids = state.sla_resources(sla.name)
    if vm_ids or disk_ids:
        vms = [state.inventory.vms[vm_id].name for vm_id in vm_ids]
        disks = [f"{vm.name}/{disk.label}" for vm, disk in (state.inventory.disks[d] for d in disk_ids)]
        raise Conflict(
            f"SLA policy {sla.name} is still assigned to VMs [{', '.join(sorted(vms))}] and disks "
            f"[{', '.join(sorted(disks))}]; unassign it first.",
            error_id="SlaPolicyInUseException",
        )
    job = state.sla_job(sla.name)
    if job:
        running = state.sessions.get(job.running_session_id or "")
        if running and running.active:
            raise Conflict(f"The job {job.name} of SLA policy {sla.name} is running.", error_id="JobRunningException")
        del state.jobs[job.id]
    del state.slas[sla.id]
    return no_content()


@routes.get("/api/spec/storageprofile")
def list_storage_profiles(app: App, request: Request) -> Response:
    render = views(app, request)
    return ok(list_body(request, "storageprofiles", [render.sla(sla) for sla in app.state.slas.values()], BY_ID))


@routes.get("/api/spec/storageprofile/{sla_id}")
def get_storage_profile(app: App, request: Request) -> Response:
    return ok(views(app, request).sla(_sla(app, request)))
