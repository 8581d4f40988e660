"""Backup of the resources of one SLA: snapshot each VM, record its configuration as a version, remove the snapshot
(spp-api.md 14.11)."""

from __future__ import annotations

from dataclasses import dataclass

from . import messages
from .inventory import read_vm
from .model import Sla, Status, Vm, recorded_config
from .runner import SessionRun, final_status, process_items
from .state import State
from .vcenter import VCENTER_ERRORS, TaskFailed, vm_by_moref
from .vmops import create_snapshot, remove_snapshot

RUN_SECONDS = 2.0  # simulated duration of a backup job at speed factor 1.0

DEFAULT_OPTIONS = {
    "makeApplicationConsistent": True,  # quiesced snapshots unless turned off per VM (spp-api.md 8)
    "fallbackToUnquiescedSnapshot": False,
    "snapshotRetries": 1,
    "priority": 5,
    "fullcopymethod": "vadp",
    "proxySelection": "",
    "skipReadonlyDS": True,
    "skipIAMounts": True,
    "includeVMsOnMultDatastores": True,
    "enableFH": False,
    "FHExcludedPath": "",
    "enableLogTruncate": False,
    "username": "",
    "password": "",
}


def effective_options(state: State, vm_id: str) -> dict:
    """The VM's backup options: the defaults overlaid with what applyOptions set."""
    return {**DEFAULT_OPTIONS, **state.vm_options.get(vm_id, {})}


@dataclass(frozen=True)
class BackupItem:
    vm: Vm
    disk_keys: tuple[int, ...] | None  # None: the SLA is on the VM, so every disk; else only these disks
    options: dict


def plan(state: State, sla_name: str, vm_ids: list[str] | None = None) -> list[BackupItem]:
    """What a run of the SLA's job (or an ad hoc backup of vm_ids) backs up."""
    whole_vms, disk_ids = state.sla_resources(sla_name)
    targets: dict[str, tuple[int, ...] | None] = {vm_id: None for vm_id in whole_vms}
    for disk_id in disk_ids:
        vm, disk = state.inventory.disks[disk_id]
        if vm.id not in targets or targets[vm.id] is not None:
            targets[vm.id] = (*(targets.get(vm.id) or ()), disk.key)
    if vm_ids is not None:
        targets = {vm_id: keys for vm_id, keys in targets.items() if vm_id in vm_ids}
    items = [
        BackupItem(state.inventory.vms[vm_id], keys, effective_options(state, vm_id)) for vm_id, keys in targets.items()
    ]
    return sorted(items, key=lambda item: item.vm.name)


def execute(run: SessionRun, sla: Sla, items: list[BackupItem]) -> str:
    """Work function of a backup session; returns its final status."""
    session = run.session
    with run.app.state.lock:
        session.vm_counts.total = len(items)
        session.disk_counts.total = sum(len(_selected_disks(item.vm, item)) for item in items)
    if not items:
        run.log(messages.NO_RESOURCES)
        run.wait(RUN_SECONDS)
        return Status.COMPLETED
    process_items(
        run,
        items,
        lambda service_instance, item: _backup_vm(run, service_instance, sla, item),
        session.vm_counts,
        seconds=RUN_SECONDS,
        unreachable=lambda item, error: run.log(
            messages.VM_BACKUP_FAILED, vm=item.vm.name, reason=f"vCenter is unreachable: {error}"
        ),
    )
    return final_status(session.vm_counts)


def _selected_disks(vm: Vm, item: BackupItem):
    return [disk for disk in vm.disks if item.disk_keys is None or disk.key in item.disk_keys]


def _backup_vm(run: SessionRun, service_instance, sla: Sla, item: BackupItem) -> str:
    """Back up one VM; returns success, failed or skipped."""
    state = run.app.state
    failure = run.with_state(lambda: state.take_vm_failure(item.vm))
    if failure:
        run.log(messages.VM_BACKUP_FAILED, vm=item.vm.name, reason=failure)
        return "failed"
    vm = read_vm(service_instance, item.vm.moref, state.inventory.topology)
    if vm is None:
        run.log(messages.VM_NOT_FOUND, vm=item.vm.name, moref=item.vm.moref)
        return "failed"
    first_backup = run.with_state(lambda: not state.versions.get(vm.id))
    if first_backup and vm.has_snapshots:
        run.log(messages.VM_HAS_SNAPSHOTS, vm=vm.name)
        return "failed"

    disks = _selected_disks(vm, item)
    captured = tuple(disk.key for disk in disks if disk.captured_by_snapshot)
    for disk in disks:
        if not disk.captured_by_snapshot:
            run.log(messages.DISK_NOT_CAPTURED, disk=disk.label, vm=vm.name, mode=disk.mode)
    run.count(run.session.disk_counts, "skipped", len(disks) - len(captured))
    if not captured:
        return "skipped"

    try:
        snapshot, consistency = _snapshot(run, service_instance, vm, item.options)
        try:
            config = recorded_config(vm, captured)
        finally:
            remove_snapshot(service_instance, snapshot)
    except (TaskFailed, *VCENTER_ERRORS) as error:
        run.log(messages.VM_BACKUP_FAILED, vm=vm.name, reason=getattr(error, "msg", None) or str(error))
        run.count(run.session.disk_counts, "failed", len(captured))
        return "failed"
    run.with_state(lambda: state.add_version(vm, run.session, sla, consistency, config, captured))
    run.count(run.session.disk_counts, "success", len(captured))
    size = sum(disk.size_bytes for disk in disks if disk.key in captured)
    run.log(
        messages.VM_BACKED_UP,
        vm=vm.name,
        consistency=consistency,
        captured=len(captured),
        total=len(vm.disks),
        size=size,
    )
    return "success"


def _snapshot(run: SessionRun, service_instance, vm: Vm, options: dict):
    """(snapshot, consistency): quiesced when the VM's options ask for it, with the optional fallback."""
    managed_vm = vm_by_moref(service_instance, vm.moref)
    name, description = f"SPP backup {run.session.id}", f"Created by job {run.session.job_name}"
    if not options.get("makeApplicationConsistent", True):
        return create_snapshot(service_instance, managed_vm, name, description, quiesce=False), "crash"
    try:
        return create_snapshot(service_instance, managed_vm, name, description, quiesce=True), "application"
    except (TaskFailed, *VCENTER_ERRORS) as error:
        if not options.get("fallbackToUnquiescedSnapshot"):
            raise
        run.log(messages.QUIESCE_FALLBACK, vm=vm.name, reason=getattr(error, "msg", None) or str(error))
        return create_snapshot(service_instance, managed_vm, name, description, quiesce=False), "crash"
