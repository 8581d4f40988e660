"""Job log messages: (message id, type, text template). CTGGA2384 is the real per-VM backup summary id; the
others are the emulator's own, in the same CTGGA range, so that clients can match on ids rather than on text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    id: str
    type: str  # INFO | WARN | ERROR | SUMMARY
    text: str

    def render(self, **params: object) -> tuple[str, tuple[str, ...]]:
        return self.text.format(**params), tuple(str(value) for value in params.values())


JOB_STARTED = Message("CTGGA2398", "INFO", "Job {job} started (session {session}).")
JOB_FINISHED = Message(
    "CTGGA2399",
    "SUMMARY",
    "Job {job} finished with status {status}: {success} of {total} succeeded, {failed} failed, {skipped} skipped.",
)
JOB_CANCELED = Message("CTGGA2397", "WARN", "Job {job} was canceled.")
INTERNAL_ERROR = Message("CTGGA2300", "ERROR", "Internal error: {error}")

VM_BACKED_UP = Message(
    "CTGGA2384",
    "INFO",
    "Virtual machine {vm} backed up ({consistency} consistent): {captured} of {total} disks "
    "protected, {size} bytes.",
)
VM_HAS_SNAPSHOTS = Message(
    "CTGGA2390",
    "ERROR",
    "Virtual machine {vm} already has snapshots and has never been backed up. The first "
    "backup of a VM requires that it has no snapshots: delete its snapshots, then run the "
    "backup again.",
)
VM_BACKUP_FAILED = Message("CTGGA2391", "ERROR", "Backup of virtual machine {vm} failed: {reason}")
VM_NOT_FOUND = Message(
    "CTGGA2392",
    "ERROR",
    "Virtual machine {vm} ({moref}) no longer exists in vCenter; run the Hypervisor Inventory job.",
)
DISK_NOT_CAPTURED = Message(
    "CTGGA2393",
    "WARN",
    "Disk {disk} of virtual machine {vm} is {mode}: snapshots do not capture it, so it was "
    "not captured and is skipped.",
)
QUIESCE_FALLBACK = Message(
    "CTGGA2394", "WARN", "Quiesced snapshot of {vm} failed ({reason}); fell back to a crash-consistent snapshot."
)
NO_RESOURCES = Message("CTGGA2395", "WARN", "The job has no resources to protect.")

INVENTORY_DONE = Message(
    "CTGGA0600", "INFO", "Inventory of hypervisor {hypervisor} found {vms} virtual machines, {hosts} hosts."
)
INVENTORY_FAILED = Message("CTGGA0601", "ERROR", "Inventory of hypervisor {hypervisor} failed: {reason}")
MAINTENANCE_DONE = Message("CTGGA0700", "INFO", "Maintenance completed; nothing to remove.")

RESTORE_STARTED = Message(
    "CTGGA2500",
    "INFO",
    "Restoring virtual machine {vm} from the recovery point of {time} ({kind} copy at site {site}) as {target} "
    "(mode {mode}) on {datastore}.",
)
RESTORE_DONE = Message("CTGGA2501", "INFO", "Virtual machine {target} ({moref}) restored from {vm}.")
RESTORE_FAILED = Message("CTGGA2502", "ERROR", "Restore of virtual machine {vm} failed: {reason}")
RESTORE_OVERWRITE_REFUSED = Message(
    "CTGGA2503",
    "ERROR",
    "Virtual machine {vm} still exists. A restore in recovery (production) mode "
    "replaces it only when the option allowvmoverwrite is true; nothing was changed.",
)
ORIGINAL_REPLACED = Message(
    "CTGGA2504", "INFO", "The original virtual machine {vm} ({moref}) was powered off and removed."
)
TEST_ACTIVE = Message("CTGGA2505", "INFO", "Test restore active: {vms}. Use the {actions} action of this job session.")
TEST_CLEANED_UP = Message("CTGGA2506", "INFO", "Test virtual machine {vm} ({moref}) removed.")
TEST_MOVED_TO_PRODUCTION = Message("CTGGA2507", "INFO", "Test virtual machine {vm} moved to production as {target}.")
TEST_KEPT_AS_CLONE = Message("CTGGA2508", "INFO", "Test virtual machine {vm} kept as a permanent clone.")
ACTION_FAILED = Message("CTGGA2509", "ERROR", "Action {action} on virtual machine {vm} failed: {reason}")


# properties.postRestoreInfo.message of a restore session (an object, as SPP's UI job-session.model.ts reads it). It
# never names the restored VMs: nothing on record lists them there (spp-api.md 14.13).


def test_active_info(actions: str) -> str:
    return f"IV test active. Use the {actions} action of this job session to end the test."


def restore_info(mode: str, restored: int, total: int) -> str:
    return f"Restore in {mode} mode: {restored} of {total} virtual machines restored."
