# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rescan of ``collect_inventory``: a backup service whose inventory run shows what vCenter showed it (SPP) runs
it again while a VM is missing; one that shows its VMs some time after the run (the console, #72:
``BackupService.RESCAN_ONCE``) runs it once, then reads again with a backoff. Both within one deadline, both naming
the VMs as the user knows them when it runs out. Clocks and sleeps are fakes: nothing waits."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import WaitTimeout
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services.joined_inventory import collect_inventory

from fake_time import FakeTime

NEW = {"name": "ct-lag-1cf4cb", "moref": "vm-73", "instance_uuid": "uuid-73", "spp_id": None}
OLD = {"name": "web01", "moref": "vm-12", "instance_uuid": "uuid-12", "spp_id": "b-12"}


class Backup:
    """A backup service seen through what ``collect_inventory`` uses: its rescan, its label, ``RESCAN_ONCE``."""

    def __init__(self, rescan_once, clock, rescan_seconds=3.0):
        self.RESCAN_ONCE = rescan_once
        self.label = "the Cloud Temple console API" if rescan_once else "IBM Storage Protect Plus"
        self.clock = clock
        self.rescan_seconds = rescan_seconds
        self.rescans = []

    def rescan(self, timeout, progress=None):
        self.rescans.append(timeout)
        self.clock.now += self.rescan_seconds


class Reader:
    """Reads in which NEW is unknown to the backup service until read number ``visible_at`` (1 is the first)."""

    def __init__(self, visible_at):
        self.visible_at = visible_at
        self.reads = []

    def read(self, refresh_vcenter=False):
        self.reads.append(refresh_vcenter)
        if self.visible_at is not None and len(self.reads) >= self.visible_at:
            return [OLD, dict(NEW, spp_id="b-73")], [], []
        return [OLD], [NEW], []


def collect(backup, reader, clock, timeout=120, wanted=("vm-73",)):
    lines = []
    result = collect_inventory(backup, None, rescan_until_visible=list(wanted), timeout=timeout, progress=lines.append,
                               clock=clock.clock, reader=reader, sleep=clock.sleep)
    return result, lines


def test_a_console_runs_the_inventory_once_then_reads_until_the_vm_is_visible():
    clock = FakeTime()
    backup, reader = Backup(True, clock), Reader(visible_at=4)  # the first read, then 3 after the run
    result, lines = collect(backup, reader, clock)
    assert len(backup.rescans) == 1, "the tenant-wide inventory ran once"
    assert len(reader.reads) == 4 and not any(reader.reads), "vCenter is not listed again"
    assert len(clock.sleeps) == 2 and clock.sleeps[1] > clock.sleeps[0], "a backoff between the reads"
    assert result["rescanned"] and result["changed"] and result["vcenter_only"] == []
    waits = [line for line in lines if "still not visible" in line]
    assert len(waits) == 2 and all("ct-lag-1cf4cb (vm-73)" in line for line in waits), lines


def test_a_console_wait_too_short_names_the_vm_and_the_option():
    clock = FakeTime()
    backup, reader = Backup(True, clock), Reader(visible_at=None)
    with pytest.raises(WaitTimeout) as caught:
        collect(backup, reader, clock, timeout=20)
    message = caught.value.message
    assert "ct-lag-1cf4cb (vm-73)" in message and "rescan_timeout" in message, message
    assert "the Cloud Temple console API" in message and "ran once" in message, message
    assert len(backup.rescans) == 1
    assert clock.now <= 20, "the deadline is not overshot"
    assert caught.value.details["missing"] == ["vm-73"]


def test_spp_runs_the_inventory_again_while_a_vm_is_missing():
    clock = FakeTime()
    backup, reader = Backup(False, clock), Reader(visible_at=3)  # the first read, then one per run
    result, _lines = collect(backup, reader, clock)
    assert len(backup.rescans) == 2 and clock.sleeps == []
    assert reader.reads == [False, False, True], "vCenter is listed again from the second run on"
    assert result["rescanned"] and result["vcenter_only"] == []


def test_spp_runs_out_naming_the_vm_by_name():
    clock = FakeTime()
    backup, reader = Backup(False, clock, rescan_seconds=4.0), Reader(visible_at=None)
    with pytest.raises(WaitTimeout) as caught:
        collect(backup, reader, clock, timeout=10, wanted=("ct-lag-1cf4cb",))
    message = caught.value.message
    assert "after 3 inventory runs" in message and "ct-lag-1cf4cb (vm-73)" in message, message
    assert "rescan_timeout" in message
