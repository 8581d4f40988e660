# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore markers, VM details, rename and power against the vSphere simulator (skipped without vcsim)."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import NotFound
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import vms
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere._client import VsphereClient


@pytest.fixture
def client(vcsim, tls_files):
    host, port = vcsim
    with VsphereClient(host, "user", "Not-a-real-pw-1", port=port, ca_path=tls_files["ca"]) as connected:
        yield connected


def test_markers_are_read_in_bulk_and_updated(client):
    before = vms.list_vms_with_markers(client)
    assert before and all(vm["marker"] is None for vm in before)
    assert {"name", "moref", "instance_uuid", "template", "power_state", "marker", "test_record"} == set(before[0])
    target = before[0]["moref"]
    written = vms.set_marker(client, target, {"mode": "test", "state": "restored", "session_id": "1"})
    assert written["moref"] == target and written["v"] == vms.MARKER_VERSION
    assert vms.marker_field_key(client) is not None
    vms.set_marker(client, target, {"mode": "test", "state": "promoted", "session_id": "1"})
    after = {vm["moref"]: vm["marker"] for vm in vms.list_vms_with_markers(client)}
    assert after[target]["state"] == "promoted", "the newest value of the field wins"
    assert [moref for moref, marker in after.items() if marker] == [target]


def test_test_records_are_a_second_field_read_in_the_same_pass(client):
    target = vms.list_vms_with_markers(client)[2]["moref"]
    vms.set_marker(client, target, {"result": "failed"}, field=vms.TEST_FIELD)
    vms.set_marker(client, target, {"result": "passed"}, field=vms.TEST_FIELD)
    listed = {vm["moref"]: vm for vm in vms.list_vms_with_markers(client)}
    assert listed[target]["test_record"]["result"] == "passed", "the newest value of the field wins"
    assert listed[target]["marker"] is None, "a test record is not a restore marker"
    assert [moref for moref, vm in listed.items() if vm["test_record"]] == [target]
    assert vms.vm_details(client, target)["test_record"]["result"] == "passed"


def test_details_rename_and_power(client):
    vm = vms.list_vms_with_markers(client)[1]
    details = vms.vm_details(client, vm["moref"])
    assert details["name"] == vm["name"] and details["macs"] and details["nics"][0]["mac"] == details["macs"][0]
    assert set(details["nics"][0]) == {"label", "mac", "connected", "start_connected", "network"}
    vms.rename_vm(client, vm["moref"], vm["name"] + "_renamed")
    assert vms.vm_details(client, vm["moref"])["name"] == vm["name"] + "_renamed"
    vms.rename_vm(client, vm["moref"], vm["name"])
    assert vms.power_off_vm(client, vm["moref"]) is True
    assert vms.power_off_vm(client, vm["moref"]) is False
    assert vms.vm_details(client, vm["moref"])["power_state"] == "poweredOff"
    assert vms.power_on_vm(client, vm["moref"]) is True
    assert vms.vm_details(client, vm["moref"])["power_state"] == "poweredOn"


def test_unknown_vm(client):
    assert vms.vm_details(client, "vm-999999") is None
    with pytest.raises(NotFound):
        vms.set_marker(client, "vm-999999", {"state": "restored"})
    with pytest.raises(NotFound):
        vms.power_on_vm(client, "vm-999999")
