"""Restore of VMs from their versions in test, clone or recovery mode, and the follow-up actions of a test restore
(spp-api.md 7, 14.9, 14.10). The request is checked and planned by restore_plan.

Where the new VM comes from: a clone of the original VM when it still exists (vCenter copies its disks), else a VM
rebuilt from the configuration recorded with the version.
"""

from __future__ import annotations

import uuid

from . import messages
from .model import Counts, Status, Version
from .restore_plan import RestoreItem, RestorePlan
from .runner import SessionRun, final_status, process_items
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
FAILURES = (TaskFailed, *VCENTER_ERRORS)


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
    counts = session.vm_counts
    if restore.mode == "test" and counts.success:
        names = ", ".join(entry["name"] for entry in session.restored if entry["status"] == "active")
        actions = ", ".join(run.app.profile.test_actions)
        run.log(messages.TEST_ACTIVE, vms=names, actions=actions)
        # postRestoreInfo is an object the UI reads .message of (job-session.model.ts); it lists no VMs.
        run.with_state(lambda: setattr(session, "post_restore_message", messages.test_active_info(actions)))
        return Status.TEST_ACTIVE
    summary = messages.restore_info(restore.mode, counts.success, counts.total)
    run.with_state(lambda: setattr(session, "post_restore_message", summary))
    return final_status(counts)


def _restore_vm(run: SessionRun, service_instance, restore: RestorePlan, item: RestoreItem) -> str:
    """Restore one VM; returns success or failed."""
    config = item.version.vm_config
    run.log(
        messages.RESTORE_STARTED,
        vm=item.vm.name,
        time=item.version.protection_time,
        kind=item.copy.sub_policy_type,
        site=item.copy.site.name,
        target=item.target_name,
        mode=restore.mode,
        datastore=item.datastore.name if item.datastore else "the original datastore",
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
            item.datastore.moref if item.datastore else None,
            item.datastore.name if item.datastore else None,
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
        "copyId": item.copy.id,
        "siteId": item.copy.site.id,
        "subPolicyType": item.copy.sub_policy_type,
        "datastore": item.datastore.name if item.datastore else None,
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
