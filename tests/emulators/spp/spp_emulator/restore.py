"""Restore of VMs from their versions in test, clone or recovery mode, and the follow-up actions of a test restore
(spp-api.md 7, 14.9, 14.10).

Where the new VM comes from: a clone of the original VM when it still exists (vCenter copies its disks), else a VM
rebuilt from the configuration recorded with the version.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from . import messages
from .errors import BadRequest, NotFound
from .model import Counts, Network, Status, Version, Vm
from .runner import SessionRun, final_status, process_items
from .state import State
from .vcenter import VCENTER_ERRORS, TaskFailed
from .vmops import (
    NetworkTarget,
    NicChange,
    Placement,
    clone_vm,
    create_vm,
    destroy,
    find_vm,
    identity,
    power_on,
    reconfigure,
    rename,
)

RUN_SECONDS = 2.0  # simulated duration of a restore at speed factor 1.0
ACTION_SECONDS = 1.0  # cleanup, rrp and clone of a test restore
MODES = ("test", "clone", "recovery")
DEFAULT_SUFFIX = {"test": "_TEST", "clone": "_CLONE"}
TEST_ACTIONS = ("cleanup", "rrp", "clone")
FAILURES = (TaskFailed, *VCENTER_ERRORS)

_VM_HREF = re.compile(r"/vm/(?P<id>[0-9a-f]{32})")
_VERSION_HREF = re.compile(r"/version/(?P<id>[^/?]+)")
_NETWORK_HREF = re.compile(r"/network/(?P<id>[0-9a-f]{32})")
_HOST_HREF = re.compile(r"/(?P<kind>host|cluster)/(?P<id>[0-9a-f]{32})")


@dataclass(frozen=True)
class RestoreItem:
    vm: Vm  # the VM as last inventoried (it may have been deleted since)
    version: Version
    target_name: str
    networks: dict[str, NetworkTarget]  # source network moref -> network to attach to in this mode


@dataclass(frozen=True)
class RestorePlan:
    mode: str
    poweron: bool
    allow_overwrite: bool
    continue_on_error: bool
    placement: Placement  # empty fields: where the original was
    items: tuple[RestoreItem, ...] = field(default_factory=tuple)


# --- request -> plan (runs under the state lock) ---------------------------------------------------------------


def plan(state: State, body: dict) -> RestorePlan:
    """Validate a restore request (spp-api.md 7.1) into a plan; raises BadRequest or NotFound."""
    subtype = body.get("subType", body.get("subtype", "vmware"))
    if subtype != "vmware":
        raise BadRequest(f"Only subType vmware is supported, got {subtype!r}.")
    spec = body.get("spec")
    if not isinstance(spec, dict):
        raise BadRequest("The restore request needs a 'spec' object.")
    sources = spec.get("source")
    if not isinstance(sources, list) or not sources:
        raise BadRequest("spec.source must list at least one VM to restore.")
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
    items = tuple(_item(state, source, mode, option, destination) for source in sources)
    return RestorePlan(
        mode,
        flags["poweron"],
        flags["allowvmoverwrite"],
        flags["continueonerror"],
        _placement(state, destination),
        items,
    )


def _item(state: State, source: object, mode: str, option: dict, destination: dict) -> RestoreItem:
    if not isinstance(source, dict):
        raise BadRequest("Each spec.source entry must be an object with the VM's href or id.")
    vm_id = source.get("id") or _match(_VM_HREF, source.get("href"))
    if not vm_id:
        raise BadRequest("A spec.source entry has neither an id nor a VM href.")
    vm = state.recovery_vm(vm_id)
    if vm is None:
        raise NotFound(f"VM {vm_id} has no recovery point.", error_id="RecoveryPointNotFoundException")
    versions = state.versions[vm_id]
    version_spec = source.get("version") or {}
    wanted = None
    if not (version_spec.get("metadata") or {}).get("useLatest", False):
        wanted = _match(_VERSION_HREF, version_spec.get("href"))
    version = versions[-1] if wanted is None else next((v for v in versions if v.id == wanted), None)
    if version is None:
        raise NotFound(f"VM {vm.name} has no version {wanted}.", error_id="RecoveryPointNotFoundException")
    return RestoreItem(vm, version, _target_name(vm, mode, option, destination), _networks(state, mode, destination))


def _target_name(vm: Vm, mode: str, option: dict, destination: dict) -> str:
    original = vm.name
    if mode == "recovery":
        return original  # production restores keep the name (the UI offers no renaming there either)
    for href, target in (destination.get("mapvm") or {}).items():
        if _match(_VM_HREF, href) == vm.id and isinstance(target, dict) and target.get("name"):
            return str(target["name"])
    prefix, suffix = option.get("vmNamePrefix") or "", option.get("vmNameSuffix") or ""
    if prefix or suffix:
        return f"{prefix}{original}{suffix}"
    return original + DEFAULT_SUFFIX[mode]


def _networks(state: State, mode: str, destination: dict) -> dict[str, NetworkTarget]:
    """mapvirtualnetwork {source network href: {"recovery": href, "test": href}} for this mode, by source moref."""
    mapping = {}
    kind = "test" if mode == "test" else "recovery"
    for source_href, targets in (destination.get("mapvirtualnetwork") or {}).items():
        if not isinstance(targets, dict) or not targets.get(kind):
            continue
        source, target = _network(state, source_href), _network(state, targets[kind])
        mapping[source.moref] = NetworkTarget(target.name, target.moref, target.portgroup_key, target.switch_uuid)
    return mapping


def _network(state: State, href: str) -> Network:
    network = state.inventory.networks.get(_match(_NETWORK_HREF, href) or "")
    if network is None:
        raise NotFound(f"Unknown network {href!r} in mapvirtualnetwork.")
    return network


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


# --- restore (worker) ------------------------------------------------------------------------------------------


def execute(run: SessionRun, restore: RestorePlan) -> str:
    """Work function of a restore session; returns its final status."""
    session = run.session
    with run.app.state.lock:
        session.vm_counts.total = len(restore.items)
    process_items(
        run,
        restore.items,
        lambda service_instance, item: _restore_vm(run, service_instance, restore, item),
        session.vm_counts,
        seconds=RUN_SECONDS,
        stop_after_failure=not restore.continue_on_error,
        unreachable=lambda item, error: run.log(
            messages.RESTORE_FAILED, vm=item.vm.name, reason=f"vCenter is unreachable: {error}"
        ),
    )
    if restore.mode == "test" and session.vm_counts.success:
        names = ", ".join(entry["name"] for entry in session.restored if entry["status"] == "active")
        run.log(messages.TEST_ACTIVE, vms=names)
        return Status.RESOURCE_ACTIVE
    return final_status(session.vm_counts)


def _restore_vm(run: SessionRun, service_instance, restore: RestorePlan, item: RestoreItem) -> str:
    """Restore one VM; returns success or failed."""
    config = item.version.vm_config
    run.log(
        messages.RESTORE_STARTED,
        vm=item.vm.name,
        time=item.version.protection_time,
        target=item.target_name,
        mode=restore.mode,
    )
    failure = run.with_state(lambda: run.app.state.take_restore_failure(item.vm))
    if failure:
        run.log(messages.RESTORE_FAILED, vm=item.vm.name, reason=failure)
        return "failed"
    try:
        original = find_vm(service_instance, item.vm.moref)
        if restore.mode == "recovery" and original is not None and not restore.allow_overwrite:
            run.log(messages.RESTORE_OVERWRITE_REFUSED, vm=item.vm.name)
            return "failed"
        wanted = restore.placement
        placement = Placement(
            wanted.folder_moref or config["folderMoref"],
            wanted.pool_moref or config["resourcePoolMoref"],
            wanted.host_moref if wanted.pool_moref else config["hostMoref"],
        )
        new_vm = _MODES[restore.mode](run, service_instance, item, original, placement)
        if restore.poweron:
            power_on(service_instance, new_vm)
        instance_uuid = identity(service_instance, new_vm)[0]
    except FAILURES as error:
        run.log(messages.RESTORE_FAILED, vm=item.vm.name, reason=getattr(error, "msg", None) or str(error))
        return "failed"
    entry = {
        "sourceVmId": item.vm.id,
        "sourceVmName": item.vm.name,
        "sourceVmMoref": item.vm.moref,
        "versionId": item.version.id,
        "protectionTime": item.version.protection_time,
        "mode": restore.mode,
        "name": item.target_name,
        "moref": new_vm._moId,  # pylint: disable=protected-access
        "instanceUuid": instance_uuid,
        "status": "active" if restore.mode == "test" else "restored",
    }
    run.with_state(lambda: run.session.restored.append(entry))
    run.log(messages.RESTORE_DONE, target=item.target_name, moref=entry["moref"], vm=item.vm.name)
    return "success"


def _recorded_networks(config: dict, mapping: dict[str, NetworkTarget]) -> list[NetworkTarget | None]:
    """Per recorded NIC: the mapped network, or None when its network is not mapped."""
    return [mapping.get(nic["network"].get("moref") or "") for nic in config["nics"]]


def _new_test_vm(run: SessionRun, service_instance, item: RestoreItem, original, placement: Placement):
    """Test mode: isolated unless a test network is mapped, with fresh MACs so it can coexist with the original."""
    config = item.version.vm_config
    if original is not None:
        new_vm = clone_vm(service_instance, original, item.target_name, placement)
    else:
        new_vm = create_vm(service_instance, config, item.target_name, placement, instance_uuid=None, keep_macs=False)
    changes = [
        NicChange(connected=network is not None, network=network, new_mac=True)
        for network in _recorded_networks(config, item.networks)
    ]
    reconfigure(service_instance, new_vm, changes)
    return new_vm


def _new_clone(run: SessionRun, service_instance, item: RestoreItem, original, placement: Placement):
    """Clone mode: a new VM with its own name, instance UUID and MAC addresses, connected."""
    config = item.version.vm_config
    new_uuid = str(uuid.uuid4())
    if original is not None:
        new_vm = clone_vm(service_instance, original, item.target_name, placement, instance_uuid=new_uuid)
    else:
        new_vm = create_vm(
            service_instance, config, item.target_name, placement, instance_uuid=new_uuid, keep_macs=False
        )
    changes = [
        NicChange(connected=True, network=network, new_mac=True)
        for network in _recorded_networks(config, item.networks)
    ]
    reconfigure(service_instance, new_vm, changes)
    return new_vm


def _replace_original(run: SessionRun, service_instance, item: RestoreItem, original, placement: Placement):
    """Recovery mode: the restored VM takes the original's place, name and identity (UUID, MACs)."""
    config = item.version.vm_config
    if original is None:
        new_vm = create_vm(
            service_instance, config, item.target_name, placement, instance_uuid=config["instanceUuid"], keep_macs=True
        )
    else:
        new_vm = clone_vm(service_instance, original, f"{item.target_name}-restoring-{run.session.id}", placement)
        destroy(service_instance, original)
        run.log(messages.ORIGINAL_REPLACED, vm=item.vm.name, moref=item.vm.moref)
        rename(service_instance, new_vm, item.target_name)
    _take_recorded_identity(service_instance, new_vm, config, item.networks)
    return new_vm


def _take_recorded_identity(service_instance, vm, config: dict, mapping: dict[str, NetworkTarget]) -> None:
    """Give vm the recorded instance UUID and MACs, connected to the recorded (or mapped) networks."""
    changes = [
        NicChange(
            connected=True,
            network=mapping.get(nic["network"].get("moref") or "") or NetworkTarget.from_recorded(nic["network"]),
            mac=nic["mac"],
        )
        for nic in config["nics"]
    ]
    reconfigure(service_instance, vm, changes, instance_uuid=config["instanceUuid"])


_MODES = {"test": _new_test_vm, "clone": _new_clone, "recovery": _replace_original}


# --- follow-up actions of a test restore (worker) ------------------------------------------------------------


def execute_action(run: SessionRun, action: str, versions: dict[str, Version]) -> str:
    """cleanup, rrp or clone on every active test VM of the session; versions: by id, for the recorded configs."""
    entries = [entry for entry in run.session.restored if entry["status"] == "active"]

    def process(service_instance, entry: dict) -> str:
        try:
            _ACTIONS[action](run, service_instance, entry, versions[entry["versionId"]].vm_config)
        except FAILURES as error:
            run.log(
                messages.ACTION_FAILED,
                action=action,
                vm=entry["name"],
                reason=getattr(error, "msg", None) or str(error),
            )
            return "failed"
        return "success"

    counts = Counts(total=len(entries))
    process_items(
        run,
        entries,
        process,
        counts,
        seconds=ACTION_SECONDS,
        unreachable=lambda entry, error: run.log(
            messages.ACTION_FAILED, action=action, vm=entry["name"], reason=f"vCenter is unreachable: {error}"
        ),
    )
    return final_status(counts)


def _cleanup(run: SessionRun, service_instance, entry: dict, config: dict) -> None:
    test_vm = find_vm(service_instance, entry["moref"])
    if test_vm is not None:
        destroy(service_instance, test_vm)
    run.with_state(lambda: entry.update(status="cleaned up"))
    run.log(messages.TEST_CLEANED_UP, vm=entry["name"], moref=entry["moref"])


def _move_to_production(run: SessionRun, service_instance, entry: dict, config: dict) -> None:
    test_vm = _existing(service_instance, entry)
    original = find_vm(service_instance, entry["sourceVmMoref"])
    if original is not None:
        destroy(service_instance, original)
        run.log(messages.ORIGINAL_REPLACED, vm=entry["sourceVmName"], moref=entry["sourceVmMoref"])
    rename(service_instance, test_vm, entry["sourceVmName"])
    _take_recorded_identity(service_instance, test_vm, config, {})
    run.with_state(
        lambda: entry.update(
            status="moved to production", name=entry["sourceVmName"], instanceUuid=config["instanceUuid"]
        )
    )
    run.log(messages.TEST_MOVED_TO_PRODUCTION, vm=entry["name"], target=entry["sourceVmName"])


def _keep_as_clone(run: SessionRun, service_instance, entry: dict, config: dict) -> None:
    test_vm = _existing(service_instance, entry)
    instance_uuid, macs = identity(service_instance, test_vm)
    recorded_macs = {nic["mac"] for nic in config["nics"]}
    new_uuid = str(uuid.uuid4()) if instance_uuid == config["instanceUuid"] else None
    changes = [NicChange(connected=True, new_mac=mac in recorded_macs) for mac in macs]
    reconfigure(service_instance, test_vm, changes, instance_uuid=new_uuid)
    run.with_state(lambda: entry.update(status="kept as clone", instanceUuid=new_uuid or instance_uuid))
    run.log(messages.TEST_KEPT_AS_CLONE, vm=entry["name"])


def _existing(service_instance, entry: dict):
    test_vm = find_vm(service_instance, entry["moref"])
    if test_vm is None:
        raise TaskFailed(f"the test VM {entry['name']} ({entry['moref']}) no longer exists")
    return test_vm


_ACTIONS = {"cleanup": _cleanup, "rrp": _move_to_production, "clone": _keep_as_clone}
