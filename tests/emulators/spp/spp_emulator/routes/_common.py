"""Lookups shared by the handlers: hypervisor ids, VMs, disks, SLA references in request bodies."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..errors import NotFound
from ..http_types import Request
from ..model import HYPERVISOR_ID, Disk, Sla, Vm
from ..views import Views

if TYPE_CHECKING:
    from ..app import App

_VDISK_HREF = re.compile(r"/vdisk/(?P<id>[0-9a-f]{32})")
_VM_HREF = re.compile(r"/vm/(?P<id>[0-9a-f]{32})")
_SLA_HREF = re.compile(r"/(?:storageprofile|slapolicy)/(?P<id>[^/?]+)")


def views(app: App, request: Request) -> Views:
    return Views(app.state, request.base_url, app.profile)


def only_in_default_profile(app: App, request: Request) -> None:
    """404 under the public-record profile: the route exists only in the emulator (spp-api.md 14.17)."""
    if not app.profile.invented_routes:
        raise NotFound(f"No resource at {request.path}.")


def check_hypervisor(request: Request) -> None:
    hypervisor_id = request.path_params.get("hv")
    if hypervisor_id != HYPERVISOR_ID:
        raise NotFound(f"Hypervisor {hypervisor_id} is not registered.")


def source(request: Request) -> str:
    """from=hlo (live inventory, the default) or from=recovery (VMs that have recovery points)."""
    return "recovery" if request.params.get("from") == "recovery" else "hlo"


def vm_in_view(app: App, request: Request) -> Vm:
    """The VM of the path: in the live inventory, or deleted since but still in the recovery catalog (whatever
    the from= parameter says, so that the links of a deleted VM keep working)."""
    check_hypervisor(request)
    vm_id = request.path_params["vm_id"]
    vm = app.state.inventory.vms.get(vm_id) or app.state.recovery_vm(vm_id)
    if vm is None:
        raise NotFound(f"VM {vm_id} is not in the inventory; run the Hypervisor Inventory job if it is new.")
    return vm


def resource_id(entry: object) -> tuple[str | None, bool]:
    """(id, is_disk) of a resource reference {href, id, metadataPath} or a bare href string."""
    if isinstance(entry, str):
        entry = {"href": entry}
    if not isinstance(entry, dict):
        return None, False
    href = str(entry.get("href") or "")
    disk = _VDISK_HREF.search(href)
    if disk:
        return disk["id"], True
    vm = _VM_HREF.search(href)
    return (entry.get("id") or (vm["id"] if vm else None)), False


def resolve_resources(app: App, entries: list) -> list[tuple[Vm, Disk | None]]:
    """(vm, None) for VM references, (vm, disk) for vdisk references; NotFound names every unknown one."""
    inventory = app.state.inventory
    resolved, unknown = [], []
    for entry in entries:
        ref, is_disk = resource_id(entry)
        if not is_disk and ref in inventory.vms:
            resolved.append((inventory.vms[ref], None))
        elif ref in inventory.disks:
            resolved.append(inventory.disks[ref])
        else:
            unknown.append(str(ref or entry))
    if unknown:
        raise NotFound(f"Unknown resources (not in the inventory): {', '.join(unknown)}.")
    return resolved


def resolve_slas(app: App, entries: list) -> list[Sla]:
    """SLA policies referenced by id, href or name; NotFound names every unknown one."""
    slas, unknown = [], []
    for entry in entries:
        entry = entry if isinstance(entry, dict) else {"name": entry}
        match = _SLA_HREF.search(str(entry.get("href") or ""))
        sla = app.state.slas.get(str(entry.get("id") or (match["id"] if match else "")))
        sla = sla or app.state.sla_by_name(str(entry.get("name") or ""))
        if sla is None:
            unknown.append(str(entry.get("name") or entry.get("id") or entry.get("href")))
        else:
            slas.append(sla)
    if unknown:
        raise NotFound(f"Unknown SLA policies: {', '.join(unknown)}.", error_id="SlaPolicyNotFoundException")
    return slas
