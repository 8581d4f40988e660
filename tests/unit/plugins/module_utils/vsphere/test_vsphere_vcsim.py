# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""VsphereClient, list_vms and wait_for_task against the vSphere simulator on loopback, over TLS.

Skipped when vcsim is not built (``make lab`` builds .lab/bin/vcsim).
"""

from __future__ import annotations

import socket

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    ConfigurationError,
    ConnectionFailure,
    NotFound,
    TaskFailed,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import listing, tasks
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere._client import VsphereClient

VM_KEYS = {"name", "moref", "instance_uuid", "bios_uuid", "power_state", "has_snapshots", "folder", "datacenter",
           "host", "cluster", "template", "disks", "nics"}


def client_for(vcsim, **options):
    host, port = vcsim
    return VsphereClient(host, "user", "Not-a-real-pw-1", port=port, **options)


def test_connects_with_the_lab_ca(vcsim, tls_files):
    with client_for(vcsim, ca_path=tls_files["ca"]) as client:
        assert client.instance_uuid


def test_unknown_ca_fails_with_a_fix(vcsim):
    with pytest.raises(ConnectionFailure) as caught:
        client_for(vcsim).connect()
    text = str(caught.value)
    assert text.startswith("TLS certificate verification failed for https://%s:%d: " % vcsim)
    assert "Set vcenter_ca_path to the CA that signed the vCenter certificate" in text
    assert "vcenter_validate_certs: false" in text


def test_validation_off_works(vcsim):
    with client_for(vcsim, validate_certs=False) as client:
        assert client.content.about.apiType == "VirtualCenter"


def test_missing_ca_file_is_a_configuration_error(vcsim, tmp_path):
    with pytest.raises(ConfigurationError) as caught:
        client_for(vcsim, ca_path=str(tmp_path / "nope.pem")).connect()
    assert "vcenter_ca_path" in str(caught.value)


def test_closed_port_is_a_connection_failure():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionFailure) as caught:
        VsphereClient("127.0.0.1", "u", "p", port=port, validate_certs=False, timeout=5).connect()
    assert "could not reach vCenter" in str(caught.value)


def test_list_vms_and_snapshot_task(vcsim, tls_files):
    with client_for(vcsim, ca_path=tls_files["ca"]) as client:
        vms = listing.list_vms(client, page_size=3)
        # 1 datacenter: 2 VMs on the standalone host + 2 in the cluster's resource pool.
        assert len(vms) == 4
        assert [vm["name"] for vm in vms] == sorted(vm["name"] for vm in vms)
        for vm in vms:
            assert set(vm) == VM_KEYS
            assert vm["folder"] == "/DC0/vm" and vm["datacenter"] == "DC0"
            assert vm["moref"].startswith("vm-") and vm["instance_uuid"] and vm["host"]
            assert vm["disks"] and vm["disks"][0]["mode"] == "normal" and vm["disks"][0]["size_bytes"] > 0
            assert vm["nics"] and vm["nics"][0]["mac"] and vm["nics"][0]["network"]
        assert {vm["cluster"] for vm in vms} == {None, "DC0_C0"}
        light = listing.list_vms(client, devices=False)
        assert [dict(vm, disks=None, nics=None) for vm in vms] == light

        target = next(vm for vm in vms if not vm["has_snapshots"])
        vim_vm = listing.find_vm_by_moref(client, target["moref"])
        seen = []
        tasks.wait_for_task(vim_vm.CreateSnapshot_Task(name="unit", memory=False, quiesce=False), timeout=30,
                            progress=lambda info: seen.append(str(info.state)))
        assert seen[-1] == "success"
        try:
            after = {vm["moref"]: vm for vm in listing.list_vms(client)}
            assert after[target["moref"]]["has_snapshots"] is True
        finally:
            tasks.wait_for_task(vim_vm.RemoveAllSnapshots_Task(), timeout=30)

        with pytest.raises(TaskFailed) as caught:
            state = str(vim_vm.runtime.powerState)
            operation = vim_vm.PowerOnVM_Task if state == "poweredOn" else vim_vm.PowerOffVM_Task
            tasks.wait_for_task(operation(), timeout=30)
        assert "failed" in str(caught.value)

        with pytest.raises(NotFound):
            listing.find_vm_by_moref(client, "vm-999999")
