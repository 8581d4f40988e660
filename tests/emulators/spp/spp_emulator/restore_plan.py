"""A restore request (spp-api.md 7.1-7.3) checked and turned into a plan. Runs under the state lock.

The checks here hold in both profiles, because the public record is clear about them (the README names the sources):

- the body names its subtype ``subType`` (IBM ``samples/vmware_restore.py``, ``samples/vmwaretestrestore.py``,
  ``spplib/sdk/client.py``); ``subtype`` is refused;
- a source that does not use the latest point sends the version's href, the copy's href and ``protectionTime``
  (IBM ``samples/vmware_restore.py`` ``build_vm_version``, ``samples/vmwaretestrestore.py``);
- the keys of ``mapvm``, ``mapvirtualnetwork`` and ``mapRRPdatastore`` are hrefs exactly as the API gave them: the
  source's ``href``, and the ``links.self.href`` of a network or datastore, as read through the version's ``vnics``
  and ``volumes`` links (IBM ``samples/vmware_restore.py`` ``build_subpolicy``/``get_version_info``). A key that
  names the right object only by the id inside it is refused, naming the key;
- ``mapRRPdatastore`` moves the restored VM's files; ``subpolicy.source.copy`` (``site``, ``isOffload``) chooses the
  copy to restore from (spp-api.md 6, 7.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import BadRequest, NotFound
from .model import SITES, Copy, Network, Site, Version, Vm, Volume
from .state import State
from .views import Views
from .vmops import NetworkTarget, Placement

MODES = ("test", "clone", "recovery")
DEFAULT_SUFFIX = {"test": "_TEST", "clone": "_CLONE"}
OFFLOAD_KINDS = ("SPPOFFLOAD", "SPPARCHIVE")
SAMPLE = "IBM samples/vmware_restore.py"

_VM_HREF = re.compile(r"/vm/(?P<id>[0-9a-f]{32})")
_VERSION_HREF = re.compile(r"/version/(?P<id>[^/?]+)")
_COPY_HREF = re.compile(r"/copy/(?P<id>[^/?]+)")
_NETWORK_HREF = re.compile(r"/network/(?P<id>[0-9a-f]{32})")
_VOLUME_HREF = re.compile(r"/volume/(?P<id>[0-9a-f]{32})")
_SITE_HREF = re.compile(r"/site/(?P<id>[^/?]+)")
_HOST_HREF = re.compile(r"/(?P<kind>host|cluster)/(?P<id>[0-9a-f]{32})")


@dataclass(frozen=True)
class RestoreItem:
    vm: Vm  # the VM as last inventoried (it may have been deleted since)
    version: Version
    copy: Copy  # the copy restored from
    target_name: str
    networks: dict[str, NetworkTarget]  # source network moref -> network to attach to in this mode
    datastore: Volume | None  # mapRRPdatastore: where the new VM's files go; None: where the source's were


@dataclass(frozen=True)
class RestorePlan:
    mode: str
    poweron: bool
    allow_overwrite: bool
    continue_on_error: bool
    placement: Placement  # empty fields: where the original was
    items: tuple[RestoreItem, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class CopyChoice:
    """subpolicy.source.copy: the site to restore from and whether to restore from an offload copy."""

    site: Site | None = None
    offload: bool = False


def plan(state: State, body: dict, render: Views) -> RestorePlan:
    """Validate a restore request into a plan; raises BadRequest or NotFound. render builds the exact hrefs."""
    if "subtype" in body:
        raise BadRequest(f"A restore request names its subtype 'subType' (as {SAMPLE} sends it), not 'subtype'.")
    subtype = body.get("subType", "vmware")
    if subtype != "vmware":
        raise BadRequest(f"Only subType vmware is supported, got {subtype!r}.")
    spec = body.get("spec")
    if not isinstance(spec, dict):
        raise BadRequest("The restore request needs a 'spec' object.")
    sources = spec.get("source")
    if not isinstance(sources, list) or not sources or not all(isinstance(source, dict) for source in sources):
        raise BadRequest("spec.source must list at least one VM to restore, each an object with its href or id.")
    subpolicies = spec.get("subpolicy")
    if not isinstance(subpolicies, list) or not subpolicies or not isinstance(subpolicies[0], dict):
        raise BadRequest("spec.subpolicy must hold one restore subpolicy.")
    subpolicy = subpolicies[0]
    if subpolicy.get("type", "IV") != "IV":
        raise BadRequest(f"Subpolicy type {subpolicy.get('type')!r} is not supported; use IV (full VM restore).")
    option = subpolicy.get("option") or {}
    destination = subpolicy.get("destination") or {}
    if not isinstance(option, dict) or not isinstance(destination, dict):
        raise BadRequest("subpolicy.option and subpolicy.destination must be objects.")
    mode = option.get("mode", "test")
    if mode not in MODES:
        raise BadRequest(f"option.mode must be one of {', '.join(MODES)}, got {mode!r}.")
    flags = {
        name: option.get(name, default)
        for name, default in (("poweron", False), ("allowvmoverwrite", False), ("continueonerror", True))
    }
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise BadRequest(f"option.{name} must be true or false.")
    names = _vm_names(destination, sources)
    networks = _networks(state, mode, destination, render)
    datastores = _datastores(state, destination, render)
    choice = _copy_choice(subpolicy.get("source"))
    items = tuple(_item(state, source, mode, option, names, networks, datastores, choice) for source in sources)
    return RestorePlan(
        mode,
        flags["poweron"],
        flags["allowvmoverwrite"],
        flags["continueonerror"],
        _placement(state, destination),
        items,
    )


def _item(
    state: State,
    source: dict,
    mode: str,
    option: dict,
    names: dict[str, str],
    networks: dict[str, NetworkTarget],
    datastores: dict[str, Volume],
    choice: CopyChoice,
) -> RestoreItem:
    vm_id = source.get("id") or _match(_VM_HREF, source.get("href"))
    if not vm_id:
        raise BadRequest("A spec.source entry has neither an id nor a VM href.")
    vm = state.recovery_vm(vm_id)
    if vm is None:
        raise NotFound(f"VM {vm_id} has no recovery point.", error_id="RecoveryPointNotFoundException")
    version, copy = _point(state, vm, source.get("version"), choice)
    return RestoreItem(
        vm,
        version,
        copy,
        _target_name(vm, mode, option, names.get(str(source.get("href")))),
        networks,
        _datastore_target(state, version, datastores),
    )


def _point(state: State, vm: Vm, version_spec: object, choice: CopyChoice) -> tuple[Version, Copy]:
    """The version and copy a source names: the latest (useLatest true), or the version and copy of its hrefs."""
    if version_spec is None:
        version_spec = {}
    if not isinstance(version_spec, dict):
        raise BadRequest(f"The version of the source {vm.name} must be an object.")
    metadata = version_spec.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise BadRequest(f"version.metadata of the source {vm.name} must be an object.")
    versions = state.versions[vm.id]
    if metadata.get("useLatest") is True:
        return versions[-1], _chosen_copy(versions[-1], None, choice)
    copy_spec = version_spec.get("copy")
    copy_href = copy_spec.get("href") if isinstance(copy_spec, dict) else None
    protection_time = metadata.get("protectionTime")
    missing = [
        name
        for name, present in (
            ("version.href", isinstance(version_spec.get("href"), str) and version_spec["href"]),
            ("version.copy.href", isinstance(copy_href, str) and copy_href),
            (
                "version.metadata.protectionTime (epoch ms)",
                isinstance(protection_time, int) and not isinstance(protection_time, bool),
            ),
        )
        if not present
    ]
    if missing:
        raise BadRequest(
            f"The source {vm.name} does not use the latest recovery point (version.metadata.useLatest is not true), "
            f"so it must name the point: {', '.join(missing)} missing (as {SAMPLE} sends them)."
        )
    wanted = _match(_VERSION_HREF, version_spec["href"])
    version = next((v for v in versions if v.id == wanted), None)
    if version is None:
        raise NotFound(f"VM {vm.name} has no version {wanted}.", error_id="RecoveryPointNotFoundException")
    copy_id = _match(_COPY_HREF, copy_href)
    copy = next((c for c in version.copies if c.id == copy_id), None)
    if copy is None:
        raise NotFound(
            f"Version {version.id} of VM {vm.name} has no copy {copy_id or copy_href!r}; take version.copy.href from "
            "the copy's links.self.href.",
            error_id="RecoveryPointNotFoundException",
        )
    return version, _chosen_copy(version, copy, choice)


def _chosen_copy(version: Version, named: Copy | None, choice: CopyChoice) -> Copy:
    """The copy to restore from: the one named, checked against subpolicy.source; else the one it selects; else the
    backup copy."""
    if named is not None:
        if choice.site and named.site != choice.site:
            raise BadRequest(
                f"The copy {named.id} is at site {named.site.name}, but subpolicy.source.copy.site names "
                f"{choice.site.name}."
            )
        if choice.offload and named.sub_policy_type not in OFFLOAD_KINDS:
            raise BadRequest(
                f"subpolicy.source.copy.isOffload is true, but copy {named.id} is {named.sub_policy_type}."
            )
        return named
    candidates = [
        copy
        for copy in version.copies
        if (choice.site is None or copy.site == choice.site)
        and (copy.sub_policy_type in OFFLOAD_KINDS) == choice.offload
    ]
    if not candidates:
        kind = "offload copy" if choice.offload else "copy"
        where = f" at site {choice.site.name}" if choice.site else ""
        raise NotFound(
            f"Recovery point {version.id} has no {kind}{where} (its copies: "
            f"{', '.join(f'{c.sub_policy_type} at {c.site.name}' for c in version.copies)}).",
            error_id="RecoveryPointNotFoundException",
        )
    return candidates[0]


def _copy_choice(source: object) -> CopyChoice:
    """subpolicy.source: null (the backup copy), or {"copy": {"site": {"href": <site href>}, "isOffload": ...}}."""
    if source is None:
        return CopyChoice()
    copy = source.get("copy") if isinstance(source, dict) else None
    if not isinstance(source, dict) or not isinstance(copy, (dict, type(None))):
        raise BadRequest('subpolicy.source must be null or {"copy": {"site": {"href": ...}, "isOffload": ...}}.')
    if copy is None:
        return CopyChoice()
    site = None
    site_ref = copy.get("site")
    if site_ref is not None:
        href = site_ref.get("href") if isinstance(site_ref, dict) else None
        site_id = _match(_SITE_HREF, href)
        site = next((known for known in SITES if known.id == site_id), None)
        if site is None:
            raise BadRequest(
                f"subpolicy.source.copy.site.href {href!r} names no site; use the href /api/site/{{siteId}} of the "
                "copy's siteId."
            )
    offload = copy.get("isOffload")
    if offload not in (None, True, False):
        raise BadRequest("subpolicy.source.copy.isOffload must be true, false or null.")
    return CopyChoice(site, offload is True)


def _vm_names(destination: dict, sources: list[dict]) -> dict[str, str]:
    """mapvm {<source href>: {"name": ...}}; each key must be the href of a source, exactly."""
    mapping = destination.get("mapvm") or {}
    if not isinstance(mapping, dict):
        raise BadRequest("destination.mapvm must be an object keyed by source VM hrefs.")
    hrefs = {str(source.get("href")) for source in sources if source.get("href")}
    names = {}
    for key, target in mapping.items():
        if key not in hrefs:
            raise BadRequest(
                f"destination.mapvm key {key!r} is not the href of a restore source; use the source's href exactly "
                f"(the sources: {', '.join(sorted(hrefs)) or 'none with an href'})."
            )
        if not isinstance(target, dict) or not isinstance(target.get("name"), str) or not target["name"]:
            raise BadRequest(f'destination.mapvm[{key!r}] must be {{"name": <new VM name>}}.')
        names[key] = target["name"]
    return names


def _target_name(vm: Vm, mode: str, option: dict, mapped: str | None) -> str:
    original = vm.name
    if mode == "recovery":
        return original  # production restores keep the name (the UI offers no renaming there either)
    if mapped:
        return mapped
    prefix, suffix = option.get("vmNamePrefix") or "", option.get("vmNameSuffix") or ""
    if prefix or suffix:
        return f"{prefix}{original}{suffix}"
    return original + DEFAULT_SUFFIX[mode]


def _exact(kind: str, map_name: str, key: object, by_href: dict, pattern: re.Pattern, hint: str):
    """The object whose href is exactly key; BadRequest naming the key otherwise."""
    found = by_href.get(key) if isinstance(key, str) else None
    if found is not None:
        return found
    named = _match(pattern, key)
    near = next((href for href, obj in by_href.items() if obj.id == named), None)
    because = f"it names {kind} {named} only by id; send its href exactly: {near!r}" if near else f"no {kind} has it"
    raise BadRequest(f"destination.{map_name} key {key!r} is not the href of a {kind} ({because}). {hint}")


def _networks(state: State, mode: str, destination: dict, render: Views) -> dict[str, NetworkTarget]:
    """mapvirtualnetwork {source network href: {"recovery": href, "test": href}} for this mode, by source moref."""
    mapping = destination.get("mapvirtualnetwork") or {}
    if not isinstance(mapping, dict):
        raise BadRequest("destination.mapvirtualnetwork must be an object keyed by network hrefs.")
    networks = state.inventory.networks.values()
    by_href = {render.network(network)["links"]["self"]["href"]: network for network in networks}
    kind = "test" if mode == "test" else "recovery"
    result = {}
    for source_href, targets in mapping.items():
        source = _exact(
            "network",
            "mapvirtualnetwork",
            source_href,
            by_href,
            _NETWORK_HREF,
            "Take it from the version's links.vnics, then the vnic's links.networks.",
        )
        if not isinstance(targets, dict):
            raise BadRequest(
                f'destination.mapvirtualnetwork[{source_href!r}] must be {{"recovery": ..., "test": ...}}.'
            )
        if not targets.get(kind):
            continue
        target = _network(state, targets[kind])
        result[source.moref] = NetworkTarget(target.name, target.moref, target.portgroup_key, target.switch_uuid)
    return result


def _network(state: State, href: object) -> Network:
    network = state.inventory.networks.get(_match(_NETWORK_HREF, href) or "")
    if network is None:
        raise NotFound(f"Unknown network {href!r} in mapvirtualnetwork.")
    return network


def _datastores(state: State, destination: dict, render: Views) -> dict[str, Volume]:
    """mapRRPdatastore {source datastore href: target datastore href}, as {source volume id: target volume}."""
    mapping = destination.get("mapRRPdatastore") or {}
    if not isinstance(mapping, dict):
        raise BadRequest("destination.mapRRPdatastore must be an object keyed by datastore hrefs.")
    volumes = state.inventory.volumes
    by_href = {render.volume(volume)["links"]["self"]["href"]: volume for volume in volumes.values()}
    result = {}
    for source_href, target_href in mapping.items():
        source = _exact(
            "datastore",
            "mapRRPdatastore",
            source_href,
            by_href,
            _VOLUME_HREF,
            "Take it from the version's links.volumes.",
        )
        target = volumes.get(_match(_VOLUME_HREF, target_href) or "")
        if target is None:
            raise NotFound(
                f"Unknown datastore {target_href!r} in mapRRPdatastore[{source_href!r}]; use the href of a datastore "
                "from GET /api/hypervisor/{id}/volume."
            )
        result[source.id] = target
    return result


def _datastore_target(state: State, version: Version, datastores: dict[str, Volume]) -> Volume | None:
    """Where the restored VM goes: the target mapped for the datastore of its first recorded disk, if any."""
    if not datastores:
        return None
    by_name = {volume.name: volume.id for volume in state.inventory.volumes.values()}
    by_moref = {volume.moref: volume.id for volume in state.inventory.volumes.values()}
    for disk in version.vm_config["disks"]:
        source = by_moref.get(disk.get("datastoreMoref") or "") or by_name.get(disk.get("datastore") or "", "")
        target = datastores.get(source)
        if target is not None:
            return target
    return None


def _placement(state: State, destination: dict) -> Placement:
    """destination.target (host or cluster href) and vmfolderpath; what is not given stays empty."""
    inventory = state.inventory
    pool = host = None
    target = destination.get("target")
    if target:
        match = _HOST_HREF.search(str(target.get("href") if isinstance(target, dict) else target))
        if match and match["kind"] == "host" and match["id"] in inventory.hosts:
            pool, host = inventory.hosts[match["id"]].resource_pool_moref, inventory.hosts[match["id"]].moref
        elif match and match["kind"] == "cluster" and match["id"] in inventory.clusters:
            pool = inventory.clusters[match["id"]].resource_pool_moref
        else:
            raise NotFound(f"Unknown restore target {target!r}; use the href of a host or cluster.")
    folder_path = destination.get("vmfolderpath")
    folder = inventory.folders_by_path.get(str(folder_path)) if folder_path else ""
    if folder is None:
        raise NotFound(f"Unknown vmfolderpath {folder_path!r}; give a folder path such as /DC0/vm/restored.")
    return Placement(folder, pool, host)


def _match(pattern: re.Pattern, text: object) -> str | None:
    match = pattern.search(text) if isinstance(text, str) else None
    return match["id"] if match else None
