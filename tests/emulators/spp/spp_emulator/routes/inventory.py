"""Hypervisors, VMs, vdisks, hosts, clusters, datastores, networks, sites and the inventory search (spp-api.md 2)."""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING, Callable

from .. import jobs
from ..backup import effective_options
from ..errors import BadRequest, NotFound
from ..http_types import Request, Response, ok
from ..listing import SortKey, cached_list_body, list_body
from ..model import site_by_id
from ..router import RouteTable
from ..state import INVENTORY_JOB_ID
from ._common import check_hypervisor, only_in_default_profile, source, views, vm_in_view

if TYPE_CHECKING:
    from ..app import App

routes = RouteTable()
BY_NAME = (SortKey("name", False),)
HV = "/api/hypervisor/{hv}"


@routes.get("/api/hypervisor")
def list_hypervisors(app: App, request: Request) -> Response:
    return ok(list_body(request, "hypervisors", [views(app, request).hypervisor()]))


@routes.get(HV)
def get_hypervisor(app: App, request: Request) -> Response:
    check_hypervisor(request)
    return ok(views(app, request).hypervisor())


# --- VMs and vdisks ----------------------------------------------------------------------------------------------


def _vm_views(app: App, request: Request, wanted: str) -> list[dict]:
    render = views(app, request)
    state = app.state
    if wanted == "recovery":
        vms = (state.recovery_vm(vm_id) for vm_id in state.versions)
        return [render.vm(vm, "recovery") for vm in vms if vm is not None]
    return [render.vm(vm) for vm in state.inventory.vms.values()]


@routes.get(f"{HV}/vm")
def list_vms(app: App, request: Request) -> Response:
    check_hypervisor(request)
    wanted = source(request)
    return ok(cached_list_body(request, "vms", app.state.views, ("vms", wanted),
                               lambda: _vm_views(app, request, wanted), BY_NAME))


@routes.get(f"{HV}/vm/{{vm_id}}")
def get_vm(app: App, request: Request) -> Response:
    vm = vm_in_view(app, request)
    return ok(views(app, request).vm(vm, source(request)))


@routes.get(f"{HV}/vm/{{vm_id}}/vdisk")
def list_vdisks(app: App, request: Request) -> Response:
    vm = vm_in_view(app, request)
    render = views(app, request)
    return ok(list_body(request, "vdisks", [render.vdisk(vm, disk) for disk in vm.disks]))


@routes.get(f"{HV}/vm/{{vm_id}}/vdisk/{{disk_id}}")
def get_vdisk(app: App, request: Request) -> Response:
    vm = vm_in_view(app, request)
    disk = next((disk for disk in vm.disks if disk.id == request.path_params["disk_id"]), None)
    if disk is None:
        raise NotFound(f"VM {vm.name} has no disk {request.path_params['disk_id']}.")
    return ok(views(app, request).vdisk(vm, disk))


@routes.get(f"{HV}/vm/{{vm_id}}/options")
def get_options(app: App, request: Request) -> Response:
    vm = vm_in_view(app, request)
    return ok({"options": effective_options(app.state, vm.id)})


def _name_matcher(pattern: str) -> Callable[[str], bool]:
    """Search semantics: '*' or empty matches all, a glob (* ? [) matches whole names, other text is a
    case-insensitive substring (callers re-check exact names, spp-api.md 2.2)."""
    if not pattern or pattern == "*":
        return lambda name: True
    if any(char in pattern for char in "*?["):
        regex = re.compile(fnmatch.translate(pattern), re.IGNORECASE)
        return lambda name: bool(regex.match(name))
    needle = pattern.lower()
    return lambda name: needle in name.lower()


@routes.post("/api/hypervisor/search")
def search(app: App, request: Request) -> Response:
    """resourceType=vm|vdisk, from=hlo|recovery; body {"name": pattern, "hypervisorType": "vmware"}.
    vdisks match on their own name (label) or on their VM's name."""
    body = request.json_object()
    resource_type = request.params.get("resourceType", "vm")
    pattern = str(body.get("name") or "")
    matches = _name_matcher(pattern)
    wrong_type = body.get("hypervisorType", "vmware") not in ("vmware", None)
    # A search is a listing too: kept between its pages (ViewCache.listing), keyed by what it depends on.
    cache_key = ("search", resource_type, source(request), pattern, wrong_type)
    if resource_type == "vm":
        wanted = source(request)

        def vms() -> list[dict]:
            return [] if wrong_type else [vm for vm in _vm_views(app, request, wanted) if matches(vm["name"])]

        return ok(cached_list_body(request, "vms", app.state.views, cache_key, vms, BY_NAME))
    if resource_type == "vdisk":
        only_in_default_profile(app, request)  # on record, a VM's disks are read through its links.vdisks
        render = views(app, request)

        def vdisks() -> list[dict]:
            if wrong_type:
                return []
            return [
                render.vdisk(vm, disk)
                for vm in app.state.inventory.vms.values()
                for disk in vm.disks
                if matches(disk.label) or matches(vm.name)
            ]

        return ok(cached_list_body(request, "vdisks", app.state.views, cache_key, vdisks,
                                   (SortKey("vmName", False), SortKey("key", False))))
    raise BadRequest(f"resourceType must be vm or vdisk, got {resource_type!r}.")


@routes.post(HV)
def hypervisor_action(app: App, request: Request) -> Response:
    """POST /api/hypervisor/1001?action=inventory: same as starting the Hypervisor Inventory job."""
    check_hypervisor(request)
    if request.params.get("action") != "inventory":
        raise BadRequest("The only hypervisor action is inventory.")
    job = app.state.jobs[INVENTORY_JOB_ID]
    jobs.start_job(app, job)
    return ok(views(app, request).job(job))


# --- hosts, clusters, datastores, networks -----------------------------------------------------------------------


def _collection(kind: str, key: str, render_name: str, networks_of: Callable | None = None) -> None:
    """Register list, get (and networks-of) routes for one kind of inventory object."""

    def records(app: App) -> dict:
        return getattr(app.state.inventory, key)

    def list_all(app: App, request: Request) -> Response:
        if kind == "network":  # on record, networks are listed per host or cluster (samples/vmware_restore.py)
            only_in_default_profile(app, request)
        check_hypervisor(request)
        render = getattr(views(app, request), render_name)
        return ok(list_body(request, key, [render(item) for item in records(app).values()], BY_NAME))

    def get_one(app: App, request: Request) -> Response:
        check_hypervisor(request)
        item = records(app).get(request.path_params["item_id"])
        if item is None:
            raise NotFound(f"No {kind} {request.path_params['item_id']}.")
        return ok(getattr(views(app, request), render_name)(item))

    routes.add("GET", f"{HV}/{kind}", list_all)
    routes.add("GET", f"{HV}/{kind}/{{item_id}}", get_one)
    if networks_of:

        def list_networks(app: App, request: Request) -> Response:
            check_hypervisor(request)
            item = records(app).get(request.path_params["item_id"])
            if item is None:
                raise NotFound(f"No {kind} {request.path_params['item_id']}.")
            render = views(app, request)
            networks = app.state.inventory.networks
            items = [render.network(networks[net_id]) for net_id in networks_of(app, item) if net_id in networks]
            return ok(list_body(request, "networks", items, BY_NAME))

        routes.add("GET", f"{HV}/{kind}/{{item_id}}/network", list_networks)


def _cluster_networks(app: App, cluster) -> list[str]:
    hosts = app.state.inventory.hosts
    return sorted({net for host_id in cluster.host_ids if host_id in hosts for net in hosts[host_id].network_ids})


_collection("host", "hosts", "host", lambda app, host: host.network_ids)
_collection("cluster", "clusters", "cluster", _cluster_networks)
_collection("volume", "volumes", "volume")
_collection("network", "networks", "network")


# --- sites -------------------------------------------------------------------------------------------------------


@routes.get("/api/site")
def list_sites(app: App, request: Request) -> Response:
    return ok(list_body(request, "sites", views(app, request).sites()))


@routes.get("/api/site/{site_id}")
def get_site(app: App, request: Request) -> Response:
    site = site_by_id(request.path_params["site_id"])
    if site is None:
        raise NotFound(f"No site {request.path_params['site_id']}.")
    return ok(views(app, request).site(site))
