# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of the vSphere client: VM assembly from plain records, paging of the PropertyCollector, task waits."""

from __future__ import annotations

import ssl

import pytest
from pyVmomi import vim

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailure,
    TaskFailed,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import _client, listing, tasks

# -- disks --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("disk_mode, rdm, expected", [
    ("persistent", False, "normal"),
    ("nonpersistent", False, "normal"),
    (None, False, "normal"),
    ("independent_persistent", False, "independent"),
    ("independent_nonpersistent", False, "independent"),
    ("persistent", True, "rdm"),
    ("independent_persistent", True, "rdm"),
])
def test_classify_disk_mode(disk_mode, rdm, expected):
    assert listing.classify_disk_mode(disk_mode, rdm) == expected


@pytest.mark.parametrize("in_bytes, in_kb, expected", [
    (10737418240, 10485760, 10737418240), (None, 1024, 1048576), (0, 2048, 2097152), (None, None, 0),
])
def test_disk_size_bytes(in_bytes, in_kb, expected):
    assert listing.disk_size_bytes(in_bytes, in_kb) == expected


@pytest.mark.parametrize("file_name, expected", [
    ("[LocalDS_0] web01/web01.vmdk", "LocalDS_0"), ("[] x.vmdk", ""), ("web01.vmdk", None), (None, None),
])
def test_datastore_from_file_name(file_name, expected):
    assert listing.datastore_from_file_name(file_name) == expected


# -- folders and assembly -----------------------------------------------------------------------------------------

OBJECTS = {
    "group-d1": {"type": "Folder", "name": "Datacenters", "parent": None},
    "group-f1": {"type": "Folder", "name": "Paris", "parent": "group-d1"},
    "datacenter-2": {"type": "Datacenter", "name": "DC0", "parent": "group-d1"},
    "datacenter-3": {"type": "Datacenter", "name": "DC1", "parent": "group-f1"},
    "group-v3": {"type": "Folder", "name": "vm", "parent": "datacenter-2"},
    "group-v4": {"type": "Folder", "name": "prod", "parent": "group-v3"},
    "group-v5": {"type": "Folder", "name": "web", "parent": "group-v4"},
    "group-v6": {"type": "Folder", "name": "vm", "parent": "datacenter-3"},
    "domain-c7": {"type": "ClusterComputeResource", "name": "C0", "parent": "group-h4"},
    "domain-s8": {"type": "ComputeResource", "name": "esx9", "parent": "group-h4"},
    "host-10": {"type": "HostSystem", "name": "esx1", "parent": "domain-c7"},
    "host-11": {"type": "HostSystem", "name": "esx9", "parent": "domain-s8"},
    "network-12": {"type": "Network", "name": "VM Network", "parent": None},
    "dvportgroup-13": {"type": "DistributedVirtualPortgroup", "name": "DPG-prod", "key": "dvportgroup-13"},
    "datastore-14": {"type": "Datastore", "name": "ds-fast"},
    "resgroup-v15": {"type": "VirtualApp", "name": "shop", "parent": None, "parent_folder": "group-v4"},
}


def test_folder_path():
    assert listing.folder_path("group-v5", OBJECTS) == "/DC0/vm/prod/web"
    assert listing.folder_path("group-v3", OBJECTS) == "/DC0/vm"
    assert listing.folder_path("group-v6", OBJECTS) == "/Paris/DC1/vm"
    assert listing.folder_path("group-d1", OBJECTS) == "/"
    assert listing.datacenter_name("group-v5", OBJECTS) == "DC0"
    assert listing.datacenter_name("group-v6", OBJECTS) == "DC1"


def test_folder_path_survives_a_loop_and_unknown_parents():
    objects = {"a": {"name": "a", "parent": "b"}, "b": {"name": "b", "parent": "a"},
               "c": {"name": "c", "parent": "not-visible"}}
    assert listing.folder_path("a", objects) == "/b/a"
    assert listing.folder_path("c", objects) == "/c"


def vm_record(name, **overrides):
    record = {
        "type": "VirtualMachine", "name": name, "parent": "group-v5", "parent_vapp": None,
        "instance_uuid": "iuuid-" + name, "bios_uuid": "buuid-" + name, "template": False,
        "power_state": "poweredOn", "host": "host-10", "has_snapshots": False,
        "disks": [
            {"label": "Hard disk 1", "key": 2000, "capacity_bytes": 4 * 2 ** 30, "capacity_kb": 4 * 2 ** 20,
             "disk_mode": "persistent", "rdm": False, "datastore": "datastore-14",
             "file_name": "[ds-fast] %s/%s.vmdk" % (name, name)},
            {"label": "Hard disk 2", "key": 2001, "capacity_bytes": None, "capacity_kb": 1024,
             "disk_mode": "independent_persistent", "rdm": False, "datastore": None,
             "file_name": "[ds-slow] %s/%s_1.vmdk" % (name, name)},
            {"label": "Hard disk 3", "key": 2002, "capacity_bytes": 2 ** 30, "capacity_kb": None,
             "disk_mode": "persistent", "rdm": True, "datastore": "datastore-14", "file_name": None},
        ],
        "nics": [
            {"label": "Network adapter 1", "key": 4000, "mac": "00:50:56:00:00:01", "connected": True,
             "start_connected": True, "network": None, "portgroup_key": "dvportgroup-13", "device_name": None},
            {"label": "Network adapter 2", "key": 4001, "mac": "00:50:56:00:00:02", "connected": False,
             "start_connected": False, "network": "network-12", "portgroup_key": None, "device_name": "VM Network"},
            {"label": "Network adapter 3", "key": 4002, "mac": "00:50:56:00:00:03", "connected": False,
             "start_connected": True, "network": None, "portgroup_key": None, "device_name": "nsx-seg-1"},
        ],
    }
    record.update(overrides)
    return record


def test_assemble_vms():
    objects = dict(OBJECTS)
    objects["vm-20"] = vm_record("web01")
    objects["vm-21"] = vm_record("app01", host="host-11", has_snapshots=True, power_state="poweredOff",
                                 template=True, parent=None, parent_vapp="resgroup-v15", disks=[], nics=[])
    objects["vm-22"] = vm_record("app01", host=None, parent="group-v6", disks=[], nics=[])
    vms = listing.assemble_vms(objects)
    assert [(vm["name"], vm["moref"]) for vm in vms] == [("app01", "vm-21"), ("app01", "vm-22"), ("web01", "vm-20")]
    web = vms[2]
    assert web == {
        "name": "web01", "moref": "vm-20", "instance_uuid": "iuuid-web01", "bios_uuid": "buuid-web01",
        "power_state": "poweredOn", "has_snapshots": False, "folder": "/DC0/vm/prod/web", "datacenter": "DC0",
        "host": "esx1", "cluster": "C0", "template": False,
        "disks": [
            {"label": "Hard disk 1", "key": 2000, "size_bytes": 4 * 2 ** 30, "mode": "normal",
             "datastore": "ds-fast"},
            {"label": "Hard disk 2", "key": 2001, "size_bytes": 1024 * 1024, "mode": "independent",
             "datastore": "ds-slow"},
            {"label": "Hard disk 3", "key": 2002, "size_bytes": 2 ** 30, "mode": "rdm", "datastore": "ds-fast"},
        ],
        "nics": [
            {"label": "Network adapter 1", "key": 4000, "mac": "00:50:56:00:00:01", "network": "DPG-prod",
             "connected": True, "start_connected": True},
            {"label": "Network adapter 2", "key": 4001, "mac": "00:50:56:00:00:02", "network": "VM Network",
             "connected": False, "start_connected": False},
            {"label": "Network adapter 3", "key": 4002, "mac": "00:50:56:00:00:03", "network": "nsx-seg-1",
             "connected": False, "start_connected": True},
        ],
    }
    in_vapp, elsewhere = vms[0], vms[1]
    assert in_vapp["folder"] == "/DC0/vm/prod" and in_vapp["cluster"] is None and in_vapp["host"] == "esx9"
    assert in_vapp["has_snapshots"] and in_vapp["template"] and in_vapp["power_state"] == "poweredOff"
    assert elsewhere["folder"] == "/Paris/DC1/vm" and elsewhere["datacenter"] == "DC1"
    assert elsewhere["host"] is None and elsewhere["cluster"] is None


# -- PropertyCollector paging -------------------------------------------------------------------------------------


class FakeResult:
    def __init__(self, objects, token):
        self.objects = objects
        self.token = token


class FakePropertyCollector:
    """Serves ``items`` in pages of ``maxObjects`` with continuation tokens, as vCenter does."""

    def __init__(self, items):
        self.items = items
        self.page_size = None
        self.calls = []

    def _page(self, start):
        page = self.items[start:start + self.page_size]
        following = start + self.page_size
        return FakeResult(page, str(following) if following < len(self.items) else None)

    def RetrievePropertiesEx(self, specSet, options):  # noqa: N802  (pyVmomi's method name)
        self.page_size = options.maxObjects
        self.calls.append(("RetrievePropertiesEx", options.maxObjects))
        return self._page(0) if self.items else None

    def ContinueRetrievePropertiesEx(self, token):  # noqa: N802
        self.calls.append(("ContinueRetrievePropertiesEx", token))
        return self._page(int(token))


@pytest.mark.parametrize("count, page_size, calls", [(0, 3, 1), (2, 3, 1), (3, 3, 1), (7, 3, 3), (1000, 1000, 1)])
def test_retrieve_all_follows_tokens(count, page_size, calls):
    collector = FakePropertyCollector(list(range(count)))
    assert list(listing.retrieve_all(collector, ["spec"], page_size)) == list(range(count))
    assert len(collector.calls) == calls
    assert collector.calls[0] == ("RetrievePropertiesEx", page_size)


# -- tasks --------------------------------------------------------------------------------------------------------


class Info:
    def __init__(self, state, progress=None, result=None, error=None):
        self.key = "task-7"
        self.descriptionId = "VirtualMachine.createSnapshot"
        self.entityName = "web01"
        self.state = state
        self.progress = progress
        self.result = result
        self.error = error


class FakeTask:
    def __init__(self, infos):
        self.infos = list(infos)

    @property
    def info(self):
        return self.infos.pop(0) if len(self.infos) > 1 else self.infos[0]


class Fault(Exception):
    _wsdlName = "InvalidPowerState"

    def __init__(self, message):
        super().__init__(message)
        self.msg = message


def test_wait_for_task_returns_the_result_and_reports_progress():
    task = FakeTask([Info("queued"), Info("running", 40), Info("success", 100, result="snapshot-1")])
    seen, waits = [], []
    assert tasks.wait_for_task(task, progress=lambda info: seen.append(info.progress), sleep=waits.append) == \
        "snapshot-1"
    assert seen == [None, 40, 100]
    assert len(waits) == 2 and waits[1] > waits[0]


def test_wait_for_task_raises_the_fault_message():
    task = FakeTask([Info("error", error=Fault("The attempted operation cannot be performed in the current state"))])
    with pytest.raises(TaskFailed) as caught:
        tasks.wait_for_task(task)
    assert str(caught.value) == ("vSphere task task-7 (VirtualMachine.createSnapshot on 'web01') failed: The attempted "
                                 "operation cannot be performed in the current state (InvalidPowerState)")


def test_wait_for_task_times_out_without_overshooting():
    now = [0.0]
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        now[0] += seconds

    with pytest.raises(WaitTimeout) as caught:
        tasks.wait_for_task(FakeTask([Info("running", 12)]), timeout=5, sleep=sleep, clock=lambda: now[0])
    assert "still running at 12% after 5 s; it goes on in vCenter" in str(caught.value)
    assert sum(waits) == pytest.approx(5)


# -- connection error mapping -------------------------------------------------------------------------------------


@pytest.fixture
def smart_connect(monkeypatch):
    """Replace pyVmomi's SmartConnect with one that raises the given exception."""
    def install(error):
        def fake_smart_connect(**kwargs):
            assert kwargs["sslContext"] is not None and kwargs["httpConnectionTimeout"] == 7
            raise error

        monkeypatch.setattr(_client, "SmartConnect", fake_smart_connect)
        return _client.VsphereClient("vc.example", "admin", "Secret-pw-9", timeout=7)

    return install


def test_invalid_login_is_an_authentication_error(smart_connect):
    client = smart_connect(vim.fault.InvalidLogin(msg="Cannot complete login due to an incorrect user name or "
                                                      "password."))
    with pytest.raises(AuthenticationError) as caught:
        client.connect()
    assert str(caught.value) == (
        "vCenter https://vc.example:443 rejected the credentials of user 'admin': Cannot complete login due to an "
        "incorrect user name or password. Check vcenter_username and vcenter_password (environment variables "
        "VMWARE_USER and VMWARE_PASSWORD)")
    assert "Secret-pw-9" not in str(caught.value)


@pytest.mark.parametrize("error, text", [
    (ConnectionRefusedError(111, "Connection refused"), "could not reach vCenter at https://vc.example:443"),
    (TimeoutError("timed out"), "could not reach vCenter"),
    (Exception("vc.example:443 is down or is not a VIM server"), "does not answer as a vSphere API endpoint"),
])
def test_transport_errors_are_connection_failures(smart_connect, error, text):
    with pytest.raises(ConnectionFailure) as caught:
        smart_connect(error).connect()
    assert text in str(caught.value)


def test_other_errors_are_not_disguised(smart_connect):
    with pytest.raises(KeyError):
        smart_connect(KeyError("a bug")).connect()


def test_ssl_context(tmp_path):
    strict = _client.build_ssl_context(True)
    assert strict.verify_mode == ssl.CERT_REQUIRED and strict.check_hostname
    lax = _client.build_ssl_context(False, ca_path="/ignored")
    assert lax.verify_mode == ssl.CERT_NONE and not lax.check_hostname
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    for path in (str(bad), str(tmp_path / "missing.pem")):
        with pytest.raises(ConfigurationError) as caught:
            _client.build_ssl_context(True, path)
        assert "vcenter_ca_path" in str(caught.value)


def test_assemble_without_devices_says_they_were_not_read():
    objects = dict(OBJECTS, **{"vm-30": vm_record("db01", disks=None, nics=None)})
    vm = listing.assemble_vms(objects)[0]
    assert vm["disks"] is None and vm["nics"] is None and vm["folder"] == "/DC0/vm/prod/web"


def test_repr_hides_the_password():
    client = _client.VsphereClient("vc.example", "admin", "Secret-pw-9")
    assert "Secret-pw-9" not in repr(client)
    assert client.credentials() == ("admin", "Secret-pw-9")
