"""POST /ngp/hypervisor?action=applySLAPolicies|applyOptions|adhoc|restore: ngp-wrapped answers (spp-api.md 4, 5.3,
7, 8, 14.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from .. import jobs
from ..backup import effective_options
from ..errors import BadRequest, Conflict
from ..http_types import Request, Response, ngp_wrapped
from ..model import Job, JobSession
from ..router import RouteTable
from ._common import resolve_resources, resolve_slas, views

if TYPE_CHECKING:
    from ..app import App

routes = RouteTable()
BOOLEAN_OPTIONS = (
    "makeApplicationConsistent",
    "fallbackToUnquiescedSnapshot",
    "skipReadonlyDS",
    "skipIAMounts",
    "includeVMsOnMultDatastores",
    "enableFH",
    "enableLogTruncate",
)


def _list_field(body: dict, name: str, *, allow_empty: bool = False) -> list:
    value = body.get(name)
    if not isinstance(value, list) or (not value and not allow_empty):
        raise BadRequest(f"'{name}' must be a {'' if allow_empty else 'non-empty '}list.")
    return value


def _check_subtype(body: dict, action: str) -> None:
    """applySLAPolicies, applyOptions and adhoc name it 'subtype' on record (IBM samples/vmwareassigntosla.py,
    samples/vmwaresetproxy.py, samples/vmwareadhocbackup.py, spplib/sdk/client.py); the restore's 'subType' is
    refused here, as restore refuses 'subtype'."""
    if "subType" in body:
        raise BadRequest(
            f"{action} names the subtype 'subtype' (as IBM's samples send it), not 'subType'; 'subType' is the "
            "restore's spelling."
        )
    subtype = body.get("subtype", "vmware")
    if subtype != "vmware":
        raise BadRequest(f"Only subtype vmware is supported, got {subtype!r}.")


def apply_sla_policies(app: App, request: Request, body: dict) -> Response:
    """Replace semantics: each resource's policies become exactly the given list ([] removes all)."""
    _check_subtype(body, "applySLAPolicies")
    targets = resolve_resources(app, _list_field(body, "resources"))
    slas = resolve_slas(app, _list_field(body, "slapolicies", allow_empty=True))
    state = app.state
    held = sorted({sla.name for sla in slas if state.is_sla_held(sla.name)})
    if held:
        raise Conflict(
            f"SLA policies [{', '.join(held)}] are held; a held policy cannot be assigned. Release " "its job first.",
            error_id="SlaPolicyHeldException",
        )
    names = list(dict.fromkeys(sla.name for sla in slas))
    render = views(app, request)
    result = []
    for vm, disk in targets:
        state.set_policies(disk.id if disk else vm.id, names, disk=disk is not None)
        view = render.vdisk(vm, disk) if disk else render.vm(vm)
        result.append(
            {
                "id": view["id"],
                "name": view["name"],
                "resourceType": view["resourceType"],
                "href": view["links"]["self"]["href"],
                "storageProfiles": view["storageProfiles"],
            }
        )
    for name in names:
        state.ensure_sla_job(name)
    return ngp_wrapped(200, {"resources": result, "slapolicies": [render.sla(sla) for sla in slas]})


def apply_options(app: App, request: Request, body: dict) -> Response:
    """Options are merged into the VM's current options (keys not sent keep their value)."""
    _check_subtype(body, "applyOptions")
    targets = resolve_resources(app, _list_field(body, "resources"))
    options = body.get("options")
    if not isinstance(options, dict):
        raise BadRequest("'options' must be an object.")
    wrong = [key for key in BOOLEAN_OPTIONS if key in options and not isinstance(options[key], bool)]
    if wrong:
        raise BadRequest(f"Options [{', '.join(wrong)}] must be true or false.")
    disks = [f"{vm.name}/{disk.label}" for vm, disk in targets if disk]
    if disks:
        raise BadRequest(f"Backup options apply to VMs, not to disks: {', '.join(disks)}.")
    state = app.state
    render = views(app, request)
    result = []
    for vm, _disk in targets:
        state.vm_options[vm.id] = {**state.vm_options.get(vm.id, {}), **options}
        result.append(
            {
                "id": vm.id,
                "name": vm.name,
                "href": render.vm(vm)["links"]["self"]["href"],
                "options": _masked(effective_options(state, vm.id)),
            }
        )
    return ngp_wrapped(200, {"resources": result})


def _masked(options: dict) -> dict:
    return {**options, "password": "********"} if options.get("password") else options


def adhoc_backup(app: App, request: Request, body: dict) -> Response:
    """Back up the listed VMs now with one of their SLA policies; the SLA's job must not be running."""
    _check_subtype(body, "adhoc")
    sla_name = body.get("slaPolicyName")
    if not isinstance(sla_name, str) or not sla_name:
        raise BadRequest("'slaPolicyName' is required.")
    sla = resolve_slas(app, [{"name": sla_name}])[0]
    targets = resolve_resources(app, _list_field(body, "resource"))
    state = app.state
    vm_ids = list(dict.fromkeys(vm.id for vm, _disk in targets))
    covered = set(state.sla_resources(sla.name)[0])
    covered |= {state.inventory.disks[disk_id][0].id for disk_id in state.sla_resources(sla.name)[1]}
    uncovered = sorted(state.inventory.vms[vm_id].name for vm_id in vm_ids if vm_id not in covered)
    if uncovered:
        raise BadRequest(
            f"SLA policy {sla.name} is not assigned to [{', '.join(uncovered)}]; an ad hoc backup uses "
            "one of the VM's own policies."
        )
    session = jobs.start_backup(app, sla.name, vm_ids)
    job = state.jobs[session.job_id]
    return ngp_wrapped(201, _started(app, request, job, session, {"jobId": job.id, "slaPolicyName": sla.name}))


def restore(app: App, request: Request, body: dict) -> Response:
    job, session = jobs.start_restore(app, body, views(app, request))
    return ngp_wrapped(201, _started(app, request, job, session, {}))


def _started(app: App, request: Request, job: Job, session: JobSession, extra: dict) -> dict:
    """The answer to adhoc and restore: only name and id on record (spp-api.md 7.4; IBM samples/vmware_restore.py
    reads response.name and finds the session by jobName). The default profile adds the session (14.3)."""
    answer = {"name": job.name, "id": job.id}
    if app.profile.session_id_in_answers:
        answer.update(extra)
        answer["sessionId"] = session.id
        answer["links"] = {"jobsession": {"href": request.href(f"/api/endeavour/jobsession/{session.id}")}}
    return answer


ACTIONS: dict[str, Callable[[App, Request, dict], Response]] = {
    "applySLAPolicies": apply_sla_policies,
    "applyOptions": apply_options,
    "adhoc": adhoc_backup,
    "restore": restore,
}


@routes.post("/ngp/hypervisor")
def hypervisor_action(app: App, request: Request) -> Response:
    action = request.params.get("action", "")
    handler = ACTIONS.get(action)
    if handler is None:
        raise BadRequest(f"Unsupported action {action!r}; supported: {', '.join(ACTIONS)}.")
    return handler(app, request, request.json_object())
