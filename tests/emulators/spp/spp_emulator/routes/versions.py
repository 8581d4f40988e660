"""Versions (recovery points) and copies of a VM (spp-api.md 6)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import NotFound
from ..http_types import Request, Response, ok
from ..listing import SortKey, list_body
from ..model import Version
from ..router import RouteTable
from ._common import views, vm_in_view

if TYPE_CHECKING:
    from ..app import App

routes = RouteTable()
VM = "/api/hypervisor/{hv}/vm/{vm_id}"
NEWEST_FIRST = (SortKey("protectionInfo.protectionTime", True),)


def _versions(app: App, request: Request) -> list[Version]:
    return app.state.versions.get(vm_in_view(app, request).id, [])


def _version(app: App, request: Request) -> Version:
    wanted = request.path_params["version_id"]
    version = next((v for v in _versions(app, request) if v.id == wanted), None)
    if version is None:
        raise NotFound(
            f"No version {wanted} for VM {request.path_params['vm_id']}.", error_id="RecoveryPointNotFoundException"
        )
    return version


@routes.get(f"{VM}/version")
def list_versions(app: App, request: Request) -> Response:
    """Newest first; embedCopies=true inlines each version's copies."""
    embed = request.params.get("embedCopies", "").lower() == "true"
    render = views(app, request)
    items = [render.version(version, embed) for version in _versions(app, request)]
    return ok(list_body(request, "versions", items, NEWEST_FIRST))


@routes.get(f"{VM}/latestversion")
def latest_version(app: App, request: Request) -> Response:
    versions = _versions(app, request)
    if not versions:
        raise NotFound(
            f"VM {request.path_params['vm_id']} has no recovery point.", error_id="RecoveryPointNotFoundException"
        )
    embed = request.params.get("embedCopies", "").lower() == "true"
    return ok(views(app, request).version(versions[-1], embed))


@routes.get(f"{VM}/version/{{version_id}}")
def get_version(app: App, request: Request) -> Response:
    embed = request.params.get("embedCopies", "").lower() == "true"
    return ok(views(app, request).version(_version(app, request), embed))


@routes.get(f"{VM}/version/{{version_id}}/copy")
def list_version_copies(app: App, request: Request) -> Response:
    version = _version(app, request)
    render = views(app, request)
    return ok(list_body(request, "copies", [render.copy(copy, version) for copy in version.copies]))


@routes.get(f"{VM}/version/{{version_id}}/copy/{{copy_id}}")
def get_copy(app: App, request: Request) -> Response:
    version = _version(app, request)
    copy = next((c for c in version.copies if c.id == request.path_params["copy_id"]), None)
    if copy is None:
        raise NotFound(f"No copy {request.path_params['copy_id']} of version {version.id}.")
    return ok(views(app, request).copy(copy, version))


@routes.get(f"{VM}/copies")
def list_vm_copies(app: App, request: Request) -> Response:
    """Every copy of every version of the VM, newest first."""
    render = views(app, request)
    items = [render.copy(copy, version) for version in _versions(app, request) for copy in version.copies]
    return ok(list_body(request, "copies", items, NEWEST_FIRST))


@routes.get(f"{VM}/version/{{version_id}}/volume")
def list_version_volumes(app: App, request: Request) -> Response:
    """The datastores of the version's disks: the keys of mapRRPdatastore (IBM samples/vmware_restore.py)."""
    version = _version(app, request)
    return ok(list_body(request, "volumes", views(app, request).version_volumes(version), (SortKey("name", False),)))


def _vnic(app: App, request: Request) -> tuple[Version, dict]:
    version = _version(app, request)
    nic = next((n for n in version.vm_config["nics"] if str(n["key"]) == request.path_params["vnic_id"]), None)
    if nic is None:
        raise NotFound(f"Version {version.id} has no vnic {request.path_params['vnic_id']}.")
    return version, nic


@routes.get(f"{VM}/version/{{version_id}}/vnic")
def list_version_vnics(app: App, request: Request) -> Response:
    """The NICs the version recorded; each one's links.networks leads to the keys of mapvirtualnetwork."""
    version = _version(app, request)
    render = views(app, request)
    return ok(list_body(request, "vnics", [render.vnic(version, nic) for nic in version.vm_config["nics"]]))


@routes.get(f"{VM}/version/{{version_id}}/vnic/{{vnic_id}}")
def get_version_vnic(app: App, request: Request) -> Response:
    version, nic = _vnic(app, request)
    return ok(views(app, request).vnic(version, nic))


@routes.get(f"{VM}/version/{{version_id}}/vnic/{{vnic_id}}/network")
def list_vnic_networks(app: App, request: Request) -> Response:
    nic = _vnic(app, request)[1]
    return ok(list_body(request, "networks", views(app, request).vnic_networks(nic), (SortKey("name", False),)))
