# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""After a replacing restore took effect, a marker or request record that cannot be written is a warning that says
what happened, not a failure that hides the restore (issue 14): ``restore_steps._progress``, ``_mark`` and
``_forget`` with vCenter's writes replaced by fakes that refuse."""

from __future__ import annotations

import types

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import PermissionDenied
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams import vsphere_inventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.vsphere_inventory import VsphereInventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import restore_steps

DENIED = PermissionDenied("vCenter refused to set a custom attribute value on VirtualMachine vm-77: the user lacks "
                          "the privilege Global.SetCustomField.", privilege="Global.SetCustomField")
SOURCE = {"name": "db01", "instance_uuid": "uuid-1", "spp_id": "a1"}


class FakeVcenter:
    """The writes of ``vsphere.vms`` and ``vsphere.restore_requests``, refusing those named in ``refuse``."""

    def __init__(self, monkeypatch, refuse=()):
        self.refuse = set(refuse)
        self.records = {}
        self.markers = {}
        monkeypatch.setattr(vsphere_inventory.restore_requests, "write_record", self.write_record)
        monkeypatch.setattr(vsphere_inventory.vsphere_vms, "set_marker", self.set_marker)
        monkeypatch.setattr(vsphere_inventory.vsphere_vms, "vm_details", self.vm_details)

    def write_record(self, _client, key, record):
        if ("forget" if record is None else "record") in self.refuse:
            raise DENIED
        if record is None:
            self.records.pop(key, None)
        else:
            self.records[key] = record
        return record

    def set_marker(self, _client, moref, marker):
        if "marker" in self.refuse:
            raise DENIED
        self.markers[moref] = marker
        return marker

    def vm_details(self, _client, moref):
        return {"name": "db01", "moref": moref, "marker": self.markers.get(moref)}


def task_and_work(request_key="restore_id:CHG-1", wait=True):
    task = types.SimpleNamespace(inventory=VsphereInventory(None), request={"mode": "production", "state": "present", "wait": wait},
                                 warnings=[], log=lambda message: None)
    work = restore_steps.PlannedRestore(dict(SOURCE), {"id": "v9", "time": 1000})
    work.key = request_key
    work.record = {"request": request_key, "step": "started"}
    work.session_id = "s5"
    work.state = "restored"
    work.policies = ["Gold"]
    work.details = {"name": "db01", "moref": "vm-77", "marker": None}
    work.plan = {"renames": []}
    return task, work


def test_a_marker_that_cannot_be_written_is_a_warning_and_keeps_the_record(monkeypatch):
    vcenter = FakeVcenter(monkeypatch, refuse={"marker"})
    task, work = task_and_work()
    restore_steps._progress(task, work, "posted", session_id="s5")
    restore_steps._progress(task, work, "restored", restored_moref="vm-77")
    work.protection = {"policies": ["Gold"], "changed": True}
    restore_steps._progress(task, work, "protected")
    restore_steps._mark(task, work)
    restore_steps._forget(task, work)

    assert vcenter.records["uuid-1"]["step"] == "protected", "the record stays, for the re-run to resume from"
    assert vcenter.markers == {}
    assert task.warnings == [
        "VM db01 (vm-77) was restored from recovery point v9 and is in production, protected with Gold, but its "
        "restore marker could not be written: vCenter refused to set a custom attribute value on VirtualMachine vm-77: "
        "the user lacks the privilege Global.SetCustomField. The request record on vCenter's root folder (custom "
        "attribute sovereign.vm_backup.restore_requests) keeps request restore_id:CHG-1 open (step protected): once "
        "the vCenter user has the privilege Global.SetCustomField (to set custom attributes), run the task again; it "
        "writes the marker and restores nothing again."]


def test_when_the_record_cannot_be_written_either_the_warning_says_what_vcenter_still_holds(monkeypatch):
    vcenter = FakeVcenter(monkeypatch)
    task, work = task_and_work()
    restore_steps._progress(task, work, "posted", session_id="s5")
    vcenter.refuse = {"record", "marker", "forget"}
    restore_steps._progress(task, work, "restored", restored_moref="vm-77")
    restore_steps._progress(task, work, "protected")
    restore_steps._mark(task, work)
    restore_steps._forget(task, work)

    assert vcenter.records["uuid-1"] == {"request": "restore_id:CHG-1", "step": "posted", "session_id": "s5"}
    assert work.record["step"] == "protected" and work.record["restored_moref"] == "vm-77"
    assert len(task.warnings) == 1
    warning = task.warnings[0]
    assert warning.startswith("VM db01 (vm-77) was restored from recovery point v9 and is in production, but neither "
                              "its restore marker nor the request record could be written")
    assert "still says step posted" in warning and "finds restore session s5 instead of posting another" in warning
    assert "run no other restore of db01" in warning


def test_a_record_write_that_fails_once_is_caught_up_by_the_next(monkeypatch):
    vcenter = FakeVcenter(monkeypatch, refuse={"record"})
    task, work = task_and_work()
    restore_steps._progress(task, work, "posted", session_id="s5")
    vcenter.refuse = set()
    restore_steps._progress(task, work, "restored", restored_moref="vm-77")
    assert vcenter.records["uuid-1"] == {"request": "restore_id:CHG-1", "step": "restored", "session_id": "s5",
                                         "restored_moref": "vm-77"}, "the session id of the failed write is kept"
    restore_steps._mark(task, work)
    restore_steps._forget(task, work)
    assert vcenter.records == {} and task.warnings == [] and vcenter.markers["vm-77"]["request"] == "restore_id:CHG-1"


def test_a_record_that_cannot_be_removed_is_a_harmless_warning(monkeypatch):
    vcenter = FakeVcenter(monkeypatch, refuse={"forget"})
    task, work = task_and_work()
    restore_steps._mark(task, work)
    restore_steps._forget(task, work)
    assert vcenter.markers["vm-77"]["request"] == "restore_id:CHG-1"
    assert len(task.warnings) == 1 and "could not be removed" in task.warnings[0]
    assert "It is harmless" in task.warnings[0] and work.record is None


def test_a_restore_not_waited_for_warns_when_its_session_is_not_recorded(monkeypatch):
    FakeVcenter(monkeypatch, refuse={"record"})
    task, work = task_and_work(wait=False)
    restore_steps._progress(task, work, "posted", session_id="s5")
    assert len(task.warnings) == 1
    assert task.warnings[0].startswith("restore session s5 of request restore_id:CHG-1 was posted, but the request "
                                       "record on vCenter's root folder could not be updated")


def test_a_marker_of_a_restore_that_replaces_nothing_still_fails(monkeypatch):
    FakeVcenter(monkeypatch, refuse={"marker"})
    task, work = task_and_work(request_key=None)
    work.record = None
    with pytest.raises(PermissionDenied):
        restore_steps._mark(task, work)
