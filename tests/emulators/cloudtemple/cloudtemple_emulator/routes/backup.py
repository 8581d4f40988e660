"""The backup routes under /api/backup/v1/spp (docs/cloudtemple-api.md 6-10): read from SPP on each call, written
through SPP in activities."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spp_emulator.http_types import Request, Response, ok
from spp_emulator.router import RouteTable

from .. import backup_views, ids
from ..activities import new_activity
from ..errors import NotFound
from ._common import start_activity, string_field, string_list

if TYPE_CHECKING:
    from ..app import App

routes = RouteTable()
PREFIX = "/api/backup/v1/spp"


# --- policies (6) and assignment (7) ---------------------------------------------------------------------------------


@routes.get(f"{PREFIX}/policies")
def list_policies(app: App, request: Request) -> Response:
    """6.1: every policy, or those of one VM (?virtualMachineId=) or one disk (?virtualDiskId=); an unknown VM or
    disk gives [] (4.1)."""
    backup = app.backup
    vm_id, disk_id = request.params.get("virtualMachineId"), request.params.get("virtualDiskId")
    if vm_id:
        spp_vm = backup.known_vms([vm_id]).get(vm_id)
        return ok(backup.policies_named(list((spp_vm or {}).get("storageProfiles") or [])))
    if disk_id:
        found = backup.known_disk(disk_id)
        return ok(backup.policies_named(list(found[2].get("storageProfiles") or []) if found else []))
    return ok([backup_views.policy(sla) for sla in app.spp.slas()])


@routes.get(f"{PREFIX}/policies/{{policy_id}}")
def get_policy(app: App, request: Request) -> Response:
    sla = app.backup.slas_by_policy().get(request.path_params["policy_id"])
    if sla is None:
        raise NotFound(f"No SLA policy {request.path_params['policy_id']}.")
    return ok(backup_views.policy(sla))


@routes.post(f"{PREFIX}/policies/assign/virtual_machine")
def assign_virtual_machines(app: App, request: Request) -> Response:
    """7.1: {"virtualMachineIds": [...], "slaPolicies": [...]}, the complete set each VM ends with."""
    body = request.json_object()
    vm_ids = string_list(body, "virtualMachineIds", allow_empty=False)
    policy_ids = string_list(body, "slaPolicies", allow_empty=True)
    activity = new_activity(
        "assign_virtual_machine",
        "Waiting for virtual machine policy assignment activity to start.",
        ["slaPolicy", "assign", "virtual_machine"],
        [{"id": vm_id, "type": "VCenterVirtualMachine"} for vm_id in vm_ids]
        + [{"id": policy_id, "type": "SLAPolicy"} for policy_id in policy_ids],
        empty_assignment=not policy_ids,
    )
    return start_activity(app, activity, lambda run: app.backup.assign_vms(run, vm_ids, policy_ids))


@routes.post(f"{PREFIX}/policies/assign/virtual_disk")
def assign_virtual_disk(app: App, request: Request) -> Response:
    """7.2: {"virtualDiskId": ..., "slaPolicies": [...]}, one disk per call."""
    body = request.json_object()
    disk_id = string_field(body, "virtualDiskId")
    policy_ids = string_list(body, "slaPolicies", allow_empty=True)
    activity = new_activity(
        "assign_virtual_disk",
        "Waiting for disk policy assignment activity to start.",  # the text of #9
        ["slaPolicy", "assign", "virtual_disk"],
        [{"id": disk_id, "type": "VCenterVirtualDisk"}] + [{"id": pid, "type": "SLAPolicy"} for pid in policy_ids],
        empty_assignment=not policy_ids,
    )
    return start_activity(app, activity, lambda run: app.backup.assign_disk(run, disk_id, policy_ids))


# --- jobs and sessions (10) ------------------------------------------------------------------------------------------


@routes.get(f"{PREFIX}/jobs")
def list_jobs(app: App, request: Request) -> Response:
    """10.1: SPP's jobs, ?type= on the console's type (catalog, backup, maintenance, restore)."""
    wanted = request.params.get("type")
    jobs = [backup_views.job(job) for job in app.spp.jobs()]
    return ok([job for job in jobs if not wanted or job["type"] == wanted])


@routes.get(f"{PREFIX}/jobs/session")
def list_sessions(app: App, request: Request) -> Response:
    """10.3: every session, no filter, no paging."""
    slas = {sla["name"]: sla for sla in app.spp.slas()}
    base = request.base_url
    return ok([backup_views.session(session, slas, base) for session in app.spp.sessions()])


@routes.post(f"{PREFIX}/jobs/run")
def run_job(app: App, request: Request) -> Response:
    """10.2: {"jobId": ..., "policyId": optional, unused (its meaning is not recorded, 16 open 4)}."""
    body = request.json_object()
    job_id = string_field(body, "jobId")
    policy_id = string_field(body, "policyId", required=False)
    concerned = [{"id": job_id, "type": "BackupJob"}] + ([{"id": policy_id, "type": "SLAPolicy"}] if policy_id else [])
    activity = new_activity("run_job", "Waiting for job run activity to start.", ["job", "run"], concerned)
    return start_activity(app, activity, lambda run: app.backup.run_job(run, job_id))


@routes.get(f"{PREFIX}/jobs/{{job_id}}")
def get_job(app: App, request: Request) -> Response:
    job_id = request.path_params["job_id"]
    job = next((job for job in app.spp.jobs() if ids.job_id(job["id"]) == job_id), None)
    if job is None:
        raise NotFound(f"No job {job_id}.")
    return ok(backup_views.job(job))


# --- the backup service's view of VMs and disks (8.1, 8.2) -----------------------------------------------------------


@routes.get(f"{PREFIX}/virtual_machines/{{vm_id}}")
def get_backup_vm(app: App, request: Request) -> Response:
    """200 once SPP has inventoried the VM, 404 before (8.1; #45, #72)."""
    vm_id = request.path_params["vm_id"]
    spp_vm = app.backup.known_vms([vm_id]).get(vm_id)
    if spp_vm is None:
        raise NotFound(f"The virtual machine {vm_id} is not known to the backup service (not yet inventoried).")
    vcenter_id = ids.of_spp("hypervisor", app.spp.hypervisor()["id"])
    return ok(backup_views.backup_vm(vm_id, spp_vm, app.spp.vdisks(spp_vm), vcenter_id))


@routes.get(f"{PREFIX}/virtual_disks/{{disk_id}}")
def get_backup_disk(app: App, request: Request) -> Response:
    disk_id = request.path_params["disk_id"]
    found = app.backup.known_disk(disk_id)
    if found is None:
        raise NotFound(f"The virtual disk {disk_id} is not known to the backup service (not yet inventoried).")
    instance_uuid, _spp_vm, vdisk = found
    vcenter_uuid = app.spp.hypervisor().get("uniqueId") or ""
    return ok(backup_views.backup_disk(disk_id, vdisk, instance_uuid, vcenter_uuid, app.backup.server_id))


# --- infrastructure (8.3, 8.4, 9) ------------------------------------------------------------------------------------


@routes.get(f"{PREFIX}/sites")
def list_sites(app: App, request: Request) -> Response:
    return ok([backup_views.site(site) for site in app.spp.sites()])


@routes.get(f"{PREFIX}/vcenters")
def list_backup_vcenters(app: App, request: Request) -> Response:
    server_id = app.backup.server_id
    wanted = request.params.get("sppServerId")
    vcenters = [backup_views.backup_vcenter(app.spp.hypervisor(), server_id)]
    return ok([item for item in vcenters if not wanted or item["sppServerId"] == wanted])


def _servers(app: App) -> list[dict]:
    return [backup_views.spp_server(app.backup.server_id, app.spp.host)]


@routes.get(f"{PREFIX}/servers")
def list_servers(app: App, request: Request) -> Response:
    wanted = request.params.get("tenantId")
    return ok([] if wanted and wanted != app.identity.tenant_id else _servers(app))


@routes.get(f"{PREFIX}/servers/{{server_id}}")
def get_server(app: App, request: Request) -> Response:
    found = next((item for item in _servers(app) if item["id"] == request.path_params["server_id"]), None)
    if found is None:
        raise NotFound(f"No SPP server {request.path_params['server_id']}.")
    return ok(found)
