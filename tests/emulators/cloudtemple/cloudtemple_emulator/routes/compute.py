"""The compute routes under /api/compute/v1/vcenters (docs/cloudtemple-api.md 12), read from vCenter on each call;
power actions run in activities."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from spp_emulator.http_types import Request, Response, ok
from spp_emulator.router import RouteTable

from ..activities import new_activity
from ..compute_views import ComputeViews, select
from ..errors import ActivityFailed, BadRequest, Conflict, NotFound
from ._common import all_params, required_param, start_activity, string_field

if TYPE_CHECKING:
    from spp_emulator.model import Inventory, Vm

    from ..app import App

routes = RouteTable()
PREFIX = "/api/compute/v1/vcenters"
POWER_ACTIONS = ("on", "off")  # the only values on record (12.5; 16 open 8)


def _views(app: App, inventory: Inventory | None = None) -> ComputeViews:
    topology = inventory.topology if inventory is not None else app.compute.topology()
    return ComputeViews(app.compute.about(), topology, app.identity.tenant_id)


def _vm(app: App, vm_id: str) -> Vm:
    vm = app.compute.vm(vm_id)
    if vm is None:
        raise NotFound(f"No virtual machine {vm_id}.")
    return vm


# --- virtual machines (12.1, 12.2, 12.5) -----------------------------------------------------------------------------


@routes.get(f"{PREFIX}/virtual_machines")
def list_vms(app: App, request: Request) -> Response:
    inventory = app.compute.inventory()
    views = _views(app, inventory)
    params = all_params(request)
    vms = sorted(inventory.vms.values(), key=lambda vm: vm.name)
    return ok([views.vm(vm) for vm in vms if views.vm_matches(vm, params)])


@routes.get(f"{PREFIX}/virtual_machines/power/recommendations")
def power_recommendations(app: App, request: Request) -> Response:
    """12.5: the VM's own host and cluster as the one recommendation (inferred: DRS placement); [] outside a
    cluster."""
    vm = _vm(app, required_param(request, "virtualMachineId"))
    views = _views(app)
    cluster_moref, cluster_name = views.cluster_of(vm.host_moref)
    if cluster_moref is None:
        return ok([])
    return ok([{"key": 1, "hostClusterId": views.cid(cluster_moref), "hostId": views.cid(vm.host_moref),
                "hostClusterName": cluster_name, "hostName": vm.host_name}])


def power(app: App, request: Request) -> Response:
    """12.5: {"id", "datacenterId", "powerAction": "on"|"off", "forceEnterBIOS", "recommendation"} -> 201 activity.
    Powering on a VM without a policy, or whose policies are all held, is refused at once: 409 (inferred, 16.4),
    with #194's wording."""
    body = request.json_object()
    vm_id = string_field(body, "id")
    action = body.get("powerAction")
    if action not in POWER_ACTIONS:
        raise BadRequest(f"powerAction must be one of {', '.join(POWER_ACTIONS)}.")
    vm = _vm(app, vm_id)
    if action == "on":
        refusal = app.backup.power_on_refusal(vm_id, vm.name)
        if refusal:
            raise Conflict(refusal)
    activity = new_activity("power", f"Power {action} the virtual machine {vm.name}.",
                            ["compute", "vcenter", "virtual_machine", "power"],
                            [{"id": vm_id, "type": "virtual_machine"}])

    def work(run) -> str:
        run.progress(0.3)
        try:
            app.compute.power(vm_id, action)
        except LookupError as error:
            raise ActivityFailed(f"Could not find virtual machine {vm_id} in compute") from error
        return vm_id

    return start_activity(app, activity, work)


routes.add("PATCH", f"{PREFIX}/virtual_machines/power", power)  # RouteTable has no patch decorator


@routes.get(f"{PREFIX}/virtual_machines/{{vm_id}}")
def get_vm(app: App, request: Request) -> Response:
    vm = _vm(app, request.path_params["vm_id"])
    return ok(_views(app).vm(vm))


# --- disks and snapshots (12.3, 12.4) --------------------------------------------------------------------------------


def _disks(app: App, vm_id: str) -> list[dict] | None:
    """The VM's disks as 12.3 shows them, or None when vCenter has no such VM."""
    details = app.compute.disks(vm_id)
    views = _views(app) if details is not None else None
    return None if views is None else [
        views.disk(vm_id, detail, app.compute.datastore_name(detail.datastore_moref)) for detail in details
    ]


@routes.get(f"{PREFIX}/virtual_disks")
def list_disks(app: App, request: Request) -> Response:
    """?virtualMachineId= (required here; every caller sends it) [&name=]."""
    vm_id = required_param(request, "virtualMachineId")
    disks = _disks(app, vm_id)
    if disks is None:
        raise NotFound(f"No virtual machine {vm_id}.")
    name = request.params.get("name")
    return ok([disk for disk in disks if not name or disk["name"] == name])


@routes.get(f"{PREFIX}/virtual_disks/{{disk_id}}")
def get_disk(app: App, request: Request) -> Response:
    disk_id = request.path_params["disk_id"]
    owner = app.compute.disk_owner(disk_id)
    found = next((disk for disk in (_disks(app, owner[0]) if owner else None) or [] if disk["id"] == disk_id), None)
    if found is None:
        raise NotFound(f"No virtual disk {disk_id}.")
    return ok(found)


@routes.get(f"{PREFIX}/snapshots")
def list_snapshots(app: App, request: Request) -> Response:
    vm_id = required_param(request, "virtualMachineId")
    snapshots = app.compute.snapshots(vm_id)
    if snapshots is None:
        raise NotFound(f"No virtual machine {vm_id}.")
    return ok([ComputeViews.snapshot(vm_id, snapshot) for snapshot in snapshots])


# --- placement and grouping (12.6) -----------------------------------------------------------------------------------


def _collection(path: str, kind: str, build: Callable[[App], list[tuple[dict, dict]]], filters: tuple[str, ...]):
    """GET <path> with its filters, and GET <path>/{id}."""

    def list_all(app: App, request: Request) -> Response:
        return ok(select(build(app), all_params(request), filters))

    def get_one(app: App, request: Request) -> Response:
        wanted = request.path_params["item_id"]
        found = next((item for item, _keys in build(app) if item["id"] == wanted), None)
        if found is None:
            raise NotFound(f"No {kind} {wanted}.")
        return ok(found)

    routes.add("GET", f"{PREFIX}/{path}", list_all)
    routes.add("GET", f"{PREFIX}/{path}/{{item_id}}", get_one)


def _inventoried(method: str) -> Callable[[App], list[tuple[dict, dict]]]:
    def build(app: App) -> list[tuple[dict, dict]]:
        inventory = app.compute.inventory()
        return getattr(_views(app, inventory), method)(inventory)

    return build


def _topological(method: str) -> Callable[[App], list[tuple[dict, dict]]]:
    def build(app: App) -> list[tuple[dict, dict]]:
        return getattr(_views(app, app.compute.inventory()), method)()

    return build


_collection("hosts", "host", _inventoried("hosts"),
            ("name", "machineManagerId", "datacenterId", "hostClusterId", "datastoreId"))
_collection("host_clusters", "host cluster", _inventoried("clusters"),
            ("name", "machineManagerId", "datacenterId", "datastoreId", "datastoreClusterId"))
_collection("virtual_datacenters", "datacenter", _topological("datacenters"), ("name", "machineManagerId"))
_collection("folders", "folder", _topological("folders"), ("name", "machineManagerId", "datacenterId"))


# --- machine managers (12.6); /vcenters/{id} last, after every fixed path under /vcenters ----------------------------


@routes.get(PREFIX)
def list_machine_managers(app: App, request: Request) -> Response:
    return ok([_views(app).machine_manager()])


@routes.get(f"{PREFIX}/{{manager_id}}")
def get_machine_manager(app: App, request: Request) -> Response:
    manager = _views(app).machine_manager()
    if manager["id"] != request.path_params["manager_id"]:
        raise NotFound(f"No vCenter {request.path_params['manager_id']}.")
    return ok(manager)
