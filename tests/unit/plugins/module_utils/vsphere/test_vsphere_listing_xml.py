# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fast vCenter listing: handwritten SOAP answers (the shape vCenter and vcsim send) read into plain records.

The answers go through pyVmomi's real request serialiser and a stub whose connections replay them, so paging, faults
and connection handling are checked together with the parsing.
"""

from __future__ import annotations

import gc
import gzip
import io
import re
import threading
import types
import weakref
import zlib

import pytest
from pyVmomi import SoapAdapter, vim, vmodl

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    ApiError,
    AuthenticationError,
    ConnectionFailure,
    NotFound,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import _soap, listing

ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>%s</soapenv:Body></soapenv:Envelope>'
)


def answer(method, returnval):
    return (ENVELOPE % '<%sResponse xmlns="urn:vim25">%s</%sResponse>' % (method, returnval, method)).encode()


def fault(name, message, tag=None):
    detail = '<%sFault xmlns="urn:vim25" xsi:type="%s"/>' % (name, name) if tag is None else tag
    return (ENVELOPE % ('<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>%s</faultstring>'
                        '<detail>%s</detail></soapenv:Fault>' % (message, detail))).encode()


def obj(obj_type, moref, *props):
    return '<objects><obj type="%s">%s</obj>%s</objects>' % (obj_type, moref, "".join(props))


def prop(name, value, xsi_type="xsd:string", attrs=""):
    return '<propSet><name>%s</name><val xsi:type="%s"%s>%s</val></propSet>' % (name, xsi_type, attrs, value)


def ref(name, ref_type, moref):
    return prop(name, moref, "ManagedObjectReference", ' type="%s"' % ref_type)


def devices(*items):
    return prop("config.hardware.device", "".join(items), "ArrayOfVirtualDevice")


def device(xsi_type, key, label, body=""):
    info = '<deviceInfo><label>%s</label><summary>%s</summary></deviceInfo>' % (label, label) if label else ""
    return '<VirtualDevice xsi:type="%s"><key>%d</key>%s%s</VirtualDevice>' % (xsi_type, key, info, body)


def connectable(connected, start_connected):
    return ('<connectable><startConnected>%s</startConnected><allowGuestControl>true</allowGuestControl>'
            '<connected>%s</connected></connectable>' % (start_connected, connected))


FLAT_DISK = ('<backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>[ds-fast] web01/web01.vmdk</fileName>'
             '<datastore type="Datastore">datastore-14</datastore><diskMode>persistent</diskMode>'
             '<thinProvisioned>true</thinProvisioned></backing><controllerKey>1000</controllerKey>'
             '<unitNumber>0</unitNumber><capacityInKB>4194304</capacityInKB>'
             '<capacityInBytes>4294967296</capacityInBytes>')
INDEPENDENT_DISK = ('<backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>[ds-slow] web01/web01_1.vmdk'
                    '</fileName><diskMode>independent_persistent</diskMode></backing>'
                    '<controllerKey>1000</controllerKey><unitNumber>1</unitNumber><capacityInKB>1024</capacityInKB>')
RDM_DISK = ('<backing xsi:type="VirtualDiskRawDiskMappingVer1BackingInfo"><fileName>[ds-fast] web01/web01_2.vmdk'
            '</fileName><datastore type="Datastore">datastore-14</datastore><lunUuid>0200000000</lunUuid>'
            '<deviceName>vml.0200000000</deviceName><compatibilityMode>physicalMode</compatibilityMode>'
            '<diskMode>independent_persistent</diskMode></backing><controllerKey>1000</controllerKey>'
            '<unitNumber>2</unitNumber><capacityInKB>1048576</capacityInKB>')
DVPORT_NIC = ('<backing xsi:type="VirtualEthernetCardDistributedVirtualPortBackingInfo"><port>'
              '<switchUuid>50 2a 3c</switchUuid><portgroupKey>dvportgroup-13</portgroupKey><portKey>7</portKey>'
              '</port></backing>' + connectable("true", "true")
              + '<addressType>assigned</addressType><macAddress>00:50:56:00:00:01</macAddress>')
NETWORK_NIC = ('<backing xsi:type="VirtualEthernetCardNetworkBackingInfo"><deviceName>VM Network</deviceName>'
               '<network type="Network">network-12</network></backing>' + connectable("false", "false")
               + '<macAddress>00:50:56:00:00:02</macAddress>')
OPAQUE_NIC = ('<backing xsi:type="VirtualEthernetCardOpaqueNetworkBackingInfo"><opaqueNetworkId>nsx-seg-1'
              '</opaqueNetworkId><opaqueNetworkType>nsx.LogicalSwitch</opaqueNetworkType></backing>'
              + connectable("false", "true") + '<macAddress>00:50:56:00:00:03</macAddress>')
SNAPSHOT = ('<currentSnapshot type="VirtualMachineSnapshot">snapshot-30</currentSnapshot><rootSnapshotList>'
            '<snapshot type="VirtualMachineSnapshot">snapshot-30</snapshot><vm type="VirtualMachine">vm-20</vm>'
            '<name>before-upgrade</name><description></description><createTime>2026-01-02T03:04:05Z</createTime>'
            '<state>poweredOn</state><quiesced>false</quiesced></rootSnapshotList>')

CONTEXT = "".join([
    obj("Folder", "group-d1", prop("name", "Datacenters")),
    obj("Datacenter", "datacenter-2", prop("name", "DC0"), ref("parent", "Folder", "group-d1")),
    obj("Folder", "group-v3", prop("name", "vm"), ref("parent", "Datacenter", "datacenter-2")),
    obj("ClusterComputeResource", "domain-c7", prop("name", "C0"), ref("parent", "Folder", "group-h4")),
    obj("HostSystem", "host-10", prop("name", "esx1"), ref("parent", "ClusterComputeResource", "domain-c7")),
    obj("Network", "network-12", prop("name", "VM Network")),
    obj("DistributedVirtualPortgroup", "dvportgroup-13", prop("name", "DPG-prod"), prop("key", "dvportgroup-13")),
    obj("Datastore", "datastore-14", prop("name", "ds-fast")),
    obj("VirtualApp", "resgroup-v15", prop("name", "shop"), ref("parentFolder", "Folder", "group-v3")),
])
WEB01 = obj(
    "VirtualMachine", "vm-20", prop("name", "web01"), ref("parent", "Folder", "group-v3"),
    prop("config.instanceUuid", "5003aaaa"), prop("config.uuid", "4203bbbb"),
    prop("config.template", "false", "xsd:boolean"),
    prop("runtime.powerState", "poweredOn", "VirtualMachinePowerState"), ref("runtime.host", "HostSystem", "host-10"),
    prop("snapshot", SNAPSHOT, "VirtualMachineSnapshotInfo"),
    devices(
        device("VirtualLsiLogicController", 1000, "SCSI controller 0", "<busNumber>0</busNumber>"),
        device("VirtualDisk", 2000, "Hard disk 1", FLAT_DISK),
        device("VirtualDisk", 2001, "Hard disk 2", INDEPENDENT_DISK),
        device("VirtualDisk", 2002, "Hard disk 3", RDM_DISK),
        device("VirtualVmxnet3", 4000, "Network adapter 1", DVPORT_NIC),
        device("VirtualE1000e", 4001, "Network adapter 2", NETWORK_NIC),
        device("VirtualSriovEthernetCard", 4002, "Network adapter 3", OPAQUE_NIC),
        device("VirtualCdrom", 3000, "CD/DVD drive 1", connectable("true", "true")),
        device("VirtualDeviceFromAFutureRelease", 9000, "Future device"),
    ),
)
# In a vApp (no parent folder), a template, without host, snapshot nor NIC connection info.
APP01 = obj(
    "VirtualMachine", "vm-21", prop("name", "app01"), ref("parentVApp", "VirtualApp", "resgroup-v15"),
    prop("config.instanceUuid", "5003cccc"), prop("config.uuid", ""), prop("config.template", "true", "xsd:boolean"),
    prop("runtime.powerState", "poweredOff", "VirtualMachinePowerState"),
    devices(device("VirtualDisk", 2000, None, '<backing xsi:type="VirtualDiskSeSparseBackingInfo"><fileName>'
                                              '[ds-fast] app01/app01.vmdk</fileName><diskMode>persistent</diskMode>'
                                              '</backing><capacityInKB>2048</capacityInKB>'),
            device("VirtualVmxnet2", 4000, "Network adapter 1", "<macAddress>00:50:56:00:00:04</macAddress>")),
)
# A VM whose configuration cannot be read (e.g. inaccessible): no config.* property at all.
ORPHAN = obj("VirtualMachine", "vm-22", prop("name", "orphan"), ref("parent", "Folder", "group-v3"),
             prop("runtime.powerState", "poweredOff", "VirtualMachinePowerState"))

# The listing reads the context objects and the VMs' references first (here in two pages), then the VMs' properties
# in pages of VMs named one by one (here one page).
FIRST_PAGE = answer("RetrievePropertiesEx", "<returnval><token>token-1</token>%s%s</returnval>"
                    % (CONTEXT, obj("VirtualMachine", "vm-20")))
LAST_PAGE = answer("ContinueRetrievePropertiesEx", "<returnval>%s%s</returnval>"
                   % (obj("VirtualMachine", "vm-21"), obj("VirtualMachine", "vm-22")))
VM_PAGE = answer("RetrievePropertiesEx", "<returnval>%s%s%s</returnval>" % (WEB01, APP01, ORPHAN))
LISTING = [FIRST_PAGE, LAST_PAGE, VM_PAGE]
ALL_REFERENCES = answer("RetrievePropertiesEx", "<returnval>%s%s</returnval>" % (CONTEXT, "".join(
    obj("VirtualMachine", moref) for moref in ("vm-20", "vm-21", "vm-22"))))

EXPECTED_WEB01 = {
    "type": "VirtualMachine", "name": "web01", "parent": "group-v3", "parent_vapp": None, "instance_uuid": "5003aaaa",
    "bios_uuid": "4203bbbb", "template": False, "power_state": "poweredOn", "host": "host-10", "has_snapshots": True,
    "disks": [
        {"label": "Hard disk 1", "key": 2000, "capacity_bytes": 4294967296, "capacity_kb": 4194304,
         "disk_mode": "persistent", "rdm": False, "datastore": "datastore-14",
         "file_name": "[ds-fast] web01/web01.vmdk"},
        {"label": "Hard disk 2", "key": 2001, "capacity_bytes": None, "capacity_kb": 1024,
         "disk_mode": "independent_persistent", "rdm": False, "datastore": None,
         "file_name": "[ds-slow] web01/web01_1.vmdk"},
        {"label": "Hard disk 3", "key": 2002, "capacity_bytes": None, "capacity_kb": 1048576,
         "disk_mode": "independent_persistent", "rdm": True, "datastore": "datastore-14",
         "file_name": "[ds-fast] web01/web01_2.vmdk"},
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
EXPECTED_APP01 = {
    "type": "VirtualMachine", "name": "app01", "parent": None, "parent_vapp": "resgroup-v15",
    "instance_uuid": "5003cccc", "bios_uuid": "", "template": True, "power_state": "poweredOff", "host": None,
    "has_snapshots": False,
    "disks": [{"label": None, "key": 2000, "capacity_bytes": None, "capacity_kb": 2048, "disk_mode": "persistent",
               "rdm": False, "datastore": None, "file_name": "[ds-fast] app01/app01.vmdk"}],
    "nics": [{"label": "Network adapter 1", "key": 4000, "mac": "00:50:56:00:00:04", "connected": False,
              "start_connected": False, "network": None, "portgroup_key": None, "device_name": None}],
}
EXPECTED_ORPHAN = {
    "type": "VirtualMachine", "name": "orphan", "parent": "group-v3", "parent_vapp": None, "instance_uuid": None,
    "bios_uuid": None, "template": False, "power_state": "poweredOff", "host": None, "has_snapshots": False,
    "disks": [], "nics": [],
}


# -- a pyVmomi stub whose connections replay answers ----------------------------------------------------------------


class Response(io.BytesIO):
    def __init__(self, body, status=200, reason="OK", headers=None):
        super().__init__(body)
        self.status = status
        self.reason = reason
        self.headers = headers or {}

    def getheader(self, name, default=None):
        return self.headers.get(name, default)


class Connection:
    def __init__(self, stub):
        self.stub = stub
        self.closed = False
        self.body = None

    def request(self, method, path, body, headers):
        self.body = body.decode()
        self.stub.requests.append({"method": method, "path": path, "body": self.body, "headers": headers})

    def getresponse(self):
        answer_or_error = self.stub.answer(self.body)
        if isinstance(answer_or_error, Exception):
            raise answer_or_error
        return answer_or_error

    def close(self):
        self.closed = True


class ReplayStub(SoapAdapter.SoapStubAdapter):
    """pyVmomi's own stub (so requests are serialised for real) with connections that replay ``answers``."""

    def __init__(self, answers):
        super().__init__(host="vc.example", port=443, version="vim.version.version13")
        self.cookie = 'vmware_soap_session="52a1"'
        self.answers = list(answers)
        self.requests = []
        self.connections = []
        self.returned = []
        self.dropped = 0

    def answer(self, _body):
        """The next answer, in order (``RoutingStub`` answers by request instead)."""
        return self.answers.pop(0)

    def GetConnection(self):  # noqa: N802  (pyVmomi's names)
        self.connections.append(Connection(self))
        return self.connections[-1]

    def ReturnConnection(self, conn):  # noqa: N802
        self.returned.append(conn)

    def DropConnections(self):  # noqa: N802
        self.dropped += 1


class RoutingStub(ReplayStub):
    """Answers each request with ``route(body)``: for requests sent from several threads at once."""

    def __init__(self, route):
        super().__init__([])
        self.route = route
        self.lock = threading.Lock()

    def answer(self, body):
        return self.route(body)

    def GetConnection(self):  # noqa: N802
        with self.lock:
            return super().GetConnection()

    def ReturnConnection(self, conn):  # noqa: N802
        with self.lock:
            super().ReturnConnection(conn)


class FakeClient:
    """What the listing uses of ``VsphereClient``: ``si._stub``, ``content`` and ``origin``."""

    origin = "https://vc.example:443"

    def __init__(self, answers, stub=None):
        self.stub = stub or ReplayStub(answers)
        self.si = types.SimpleNamespace(_stub=self.stub)
        self.destroyed_views = []
        client = self

        class View(vim.view.ContainerView):
            def Destroy(self):  # noqa: N802
                client.destroyed_views.append(self._moId)

        class ViewManager:
            @staticmethod
            def CreateContainerView(container, type, recursive):  # noqa: N802,A002  pylint: disable=redefined-builtin
                assert container._moId == "group-d1" and recursive and vim.VirtualMachine in type
                return View("session[52a1]view-7", self.stub)

        self.content = types.SimpleNamespace(
            rootFolder=vim.Folder("group-d1", self.stub), viewManager=ViewManager(),
            propertyCollector=vmodl.query.PropertyCollector("propertyCollector", self.stub))


def read(body, method="RetrievePropertiesEx"):
    return list(_soap.iter_retrieve_result(io.BytesIO(body), FakeClient.origin, method))


# -- records ------------------------------------------------------------------------------------------------------


def test_references_then_vm_pages_read_into_plain_records():
    client = FakeClient([Response(answer) for answer in LISTING])
    records = listing.collect_records(client, page_size=10)

    assert records["vm-20"] == EXPECTED_WEB01
    assert records["vm-21"] == EXPECTED_APP01
    assert records["vm-22"] == EXPECTED_ORPHAN
    assert records["group-d1"] == {"type": "Folder", "name": "Datacenters", "parent": None}
    assert records["host-10"] == {"type": "HostSystem", "name": "esx1", "parent": "domain-c7"}
    assert records["dvportgroup-13"] == {"type": "DistributedVirtualPortgroup", "name": "DPG-prod", "parent": None,
                                         "key": "dvportgroup-13"}
    assert records["resgroup-v15"] == {"type": "VirtualApp", "name": "shop", "parent": None,
                                       "parent_folder": "group-v3"}
    assert len(records) == 12

    first, second, third = client.stub.requests
    assert "<RetrievePropertiesEx " in first["body"] and "<maxObjects>10</maxObjects>" in first["body"]
    assert "<type>VirtualMachine</type></propSet>" in first["body"], "no VM property in the references' read"
    assert "config.hardware.device" not in first["body"] and "session[52a1]view-7" in first["body"]
    assert "<ContinueRetrievePropertiesEx " in second["body"] and ">token-1</token>" in second["body"]
    assert "<RetrievePropertiesEx " in third["body"] and "<maxObjects>10</maxObjects>" in third["body"]
    assert "<pathSet>config.hardware.device</pathSet>" in third["body"]
    assert named_vms(third["body"]) == ["vm-20", "vm-21", "vm-22"]
    assert "<reportMissingObjectsInResults>true</reportMissingObjectsInResults>" in third["body"]
    for request in (first, second, third):
        assert request["method"] == "POST" and request["path"] == "/sdk"
        assert request["headers"]["Cookie"] == 'vmware_soap_session="52a1"'
        assert request["headers"]["SOAPAction"] == client.stub.versionId
    assert client.stub.returned == client.stub.connections, "every connection goes back to the pool"
    assert client.destroyed_views == ["session[52a1]view-7"]


def named_vms(body):
    """The VMs a request names one by one (its ObjectSpecs)."""
    return re.findall(r'<obj type="VirtualMachine">([^<]+)</obj>', body)


def test_vms_are_read_in_pages_of_page_size():
    page_1 = answer("RetrievePropertiesEx", "<returnval>%s%s</returnval>" % (WEB01, APP01))
    page_2 = answer("RetrievePropertiesEx", "<returnval>%s</returnval>" % ORPHAN)
    client = FakeClient([Response(ALL_REFERENCES), Response(page_1), Response(page_2)])
    records = listing.collect_records(client, page_size=2, workers=1)
    assert (records["vm-20"], records["vm-21"], records["vm-22"]) == (EXPECTED_WEB01, EXPECTED_APP01, EXPECTED_ORPHAN)
    assert [named_vms(request["body"]) for request in client.stub.requests[1:]] == [["vm-20", "vm-21"], ["vm-22"]]


def test_two_vm_pages_are_under_way_at_once():
    """The second page is asked for before the first is answered: the server prepares one while the other is read."""
    both_asked = threading.Barrier(2, timeout=10)
    pages = {"vm-20": WEB01, "vm-21": APP01, "vm-22": ORPHAN}

    def route(body):
        named = named_vms(body)
        if not named:
            return Response(ALL_REFERENCES)
        both_asked.wait()  # each page waits for the other: BrokenBarrierError after the timeout if read one by one
        return Response(answer("RetrievePropertiesEx", "<returnval>%s</returnval>" % "".join(pages[m] for m in named)))

    client = FakeClient(None, stub=RoutingStub(route))
    records = listing.collect_records(client, page_size=2, workers=2)
    assert records["vm-20"] == EXPECTED_WEB01 and records["vm-22"] == EXPECTED_ORPHAN and len(records) == 12


def test_a_vm_deleted_between_the_two_reads_is_left_out():
    missing = ('<missingSet><obj type="VirtualMachine">vm-22</obj><fault><fault xsi:type="ManagedObjectNotFound">'
               '<obj type="VirtualMachine">vm-22</obj></fault><localizedMessage></localizedMessage></fault>'
               '</missingSet>')
    page = answer("RetrievePropertiesEx", "<returnval>%s%s%s</returnval>" % (WEB01, missing, APP01))
    client = FakeClient([Response(ALL_REFERENCES), Response(page)])
    records = listing.collect_records(client)
    assert "vm-22" not in records and records["vm-21"] == EXPECTED_APP01 and len(records) == 11


def test_a_fault_in_one_of_the_pages_under_way_fails_the_listing():
    def route(body):
        named = named_vms(body)
        if not named:
            return Response(ALL_REFERENCES)
        if named == ["vm-20"]:
            return Response(fault("NotAuthenticated", "session gone"), status=500)
        return Response(answer("RetrievePropertiesEx", "<returnval>%s</returnval>" % (APP01 if "vm-21" in named else ORPHAN)))

    client = FakeClient(None, stub=RoutingStub(route))
    with pytest.raises(AuthenticationError):
        listing.collect_records(client, page_size=1, workers=2)


def test_a_fault_in_a_vm_page_fails_the_listing():
    client = FakeClient([Response(ALL_REFERENCES), Response(fault("NotAuthenticated", "session gone"), status=500)])
    with pytest.raises(AuthenticationError):
        listing.collect_records(client)
    assert client.destroyed_views == ["session[52a1]view-7"]


def test_without_devices_disks_and_nics_are_none_and_not_asked_for():
    client = FakeClient([Response(answer) for answer in LISTING])
    records = listing.collect_records(client, devices=False)
    assert records["vm-20"] == dict(EXPECTED_WEB01, disks=None, nics=None)
    assert not any("config.hardware.device" in request["body"] for request in client.stub.requests)


def test_list_vms_assembles_the_records():
    client = FakeClient([Response(answer) for answer in LISTING])
    vms = listing.list_vms(client, page_size=10)
    assert [vm["name"] for vm in vms] == ["app01", "orphan", "web01"]
    app01, _orphan, web01 = vms
    assert app01["folder"] == "/DC0/vm" and app01["template"] and app01["host"] is None
    assert web01["cluster"] == "C0" and web01["has_snapshots"]
    assert [disk["mode"] for disk in web01["disks"]] == ["normal", "independent", "rdm"]
    assert [nic["network"] for nic in web01["nics"]] == ["DPG-prod", "VM Network", "nsx-seg-1"]


@pytest.mark.parametrize("xsi_type", ["VirtualVmxnet3", "VirtualE1000e", "VirtualSriovEthernetCard", "VirtualPCNet32",
                                      "VirtualVmxnet3Vrdma", "vim25:VirtualE1000"])
def test_every_nic_subtype_is_a_nic(xsi_type):
    vm = obj("VirtualMachine", "vm-1", prop("name", "x"), devices(device(xsi_type, 4000, "Network adapter 1")))
    (_type, _moref, props), = read(answer("RetrievePropertiesEx", "<returnval>%s</returnval>" % vm))
    record = listing._xml_record("VirtualMachine", props)  # pylint: disable=protected-access
    assert [nic["key"] for nic in record["nics"]] == [4000] and record["disks"] == []


def test_the_answer_tree_does_not_keep_objects_already_read():
    objects = iter(_soap.iter_retrieve_result(io.BytesIO(FIRST_PAGE), FakeClient.origin, "RetrievePropertiesEx"))
    first = next(objects)
    assert first[2]["name"].text == "Datacenters"
    name = weakref.ref(first[2]["name"])
    del first
    next(objects)
    gc.collect()
    assert name() is None, "nothing but the consumer held the first object's elements"


def test_the_token_comes_last_wherever_it_is_in_the_answer():
    body = answer("RetrievePropertiesEx", "<returnval>%s<token>t-2</token></returnval>" % CONTEXT)
    items = read(body)
    assert items[-1] == (None, "t-2", None) and len(items) == 10
    assert read(answer("RetrievePropertiesEx", "")) == []  # nothing matched: no returnval at all


# -- faults and transport -----------------------------------------------------------------------------------------

# As vcsim sends it (recorded): a RetrievePropertiesEx on a VM that does not exist.
RECORDED_NOT_FOUND = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encodi'
    b'ng/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xml'
    b'ns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</fau'
    b'ltcode><faultstring>The object has already been deleted or has not been completely created</faultstring><detai'
    b'l><ManagedObjectNotFoundFault xmlns="urn:vim25" xsi:type="ManagedObjectNotFound"><obj type="VirtualMachine">vm-'
    b'1000</obj></ManagedObjectNotFoundFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>')


def test_a_recorded_fault_is_a_typed_error_and_the_connection_is_not_reused():
    client = FakeClient([Response(RECORDED_NOT_FOUND, status=500, reason="Internal Server Error")])
    with pytest.raises(NotFound) as caught:
        listing.collect_records(client)
    error = caught.value
    assert (error.status, error.error_id, error.method) == (500, "ManagedObjectNotFound", "RetrievePropertiesEx")
    assert "The object has already been deleted" in error.message and "https://vc.example:443" in error.message
    assert client.stub.connections[0].closed and not client.stub.returned
    assert client.destroyed_views, "the view is destroyed even when the retrieval fails"


@pytest.mark.parametrize("body, error_class, error_id", [
    (fault("NotAuthenticated", "The session is not authenticated."), AuthenticationError, None),
    (fault("InvalidProperty", "config.hardware.devic"), ApiError, "InvalidProperty"),
    (fault("", "old server", tag='<InvalidPropertyFault xmlns="urn:vim25"><name>x</name></InvalidPropertyFault>'),
     ApiError, "InvalidProperty"),
    (fault("", "Unmarshalling error", tag=""), ApiError, "ServerFaultCode"),
])
def test_faults_are_typed_errors(body, error_class, error_id):
    with pytest.raises(error_class) as caught:
        read(body)
    assert type(caught.value) is error_class  # pylint: disable=unidiomatic-typecheck
    if error_id:
        assert caught.value.error_id == error_id


def test_a_fault_after_a_first_page_still_fails_the_listing():
    client = FakeClient([Response(FIRST_PAGE), Response(fault("InvalidArgument", "token expired"), status=500)])
    with pytest.raises(ApiError) as caught:
        listing.collect_records(client)
    assert caught.value.error_id == "InvalidArgument" and caught.value.method == "ContinueRetrievePropertiesEx"


def test_unexpected_http_status_and_broken_xml_are_api_errors():
    client = FakeClient([Response(b"<html>busy</html>", status=503, reason="Service Unavailable"),
                         Response(answer("RetrievePropertiesEx", ""), status=500)])
    for status in (503, 500):
        with pytest.raises(ApiError) as caught:
            listing.collect_records(client)
        assert caught.value.status == status and client.stub.connections[-1].closed
    with pytest.raises(ApiError) as caught:
        read(VM_PAGE[:5000])
    assert "unreadable XML" in caught.value.message


def test_a_lost_connection_is_a_connection_failure():
    client = FakeClient([ConnectionResetError(104, "Connection reset by peer")])
    with pytest.raises(ConnectionFailure) as caught:
        listing.collect_records(client)
    assert "lost the connection to vCenter https://vc.example:443 during RetrievePropertiesEx" in caught.value.message
    assert client.stub.dropped == 1 and client.stub.connections[0].closed


@pytest.mark.parametrize("encoding, compress", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),  # zlib-wrapped, as HTTP defines deflate
    ("deflate", lambda data: zlib.compress(data)[2:-4]),  # bare deflate data, as some servers send it
])
def test_compressed_answers_when_the_stub_asks_for_them(encoding, compress):
    client = FakeClient([Response(compress(answer), headers={"Content-Encoding": encoding}) for answer in LISTING])
    client.stub._acceptCompressedResponses = True  # pylint: disable=protected-access
    records = listing.collect_records(client)
    assert records["vm-20"] == EXPECTED_WEB01 and records["vm-21"] == EXPECTED_APP01 and len(records) == 12
    assert client.stub.requests[0]["headers"]["Accept-Encoding"] == "gzip, deflate"


def test_a_corrupt_compressed_answer_is_an_api_error():
    client = FakeClient([Response(FIRST_PAGE, headers={"Content-Encoding": "gzip"})])  # says gzip, is not
    with pytest.raises(ApiError) as caught:
        listing.collect_records(client)
    assert "unreadable compressed answer" in caught.value.message and client.stub.connections[0].closed
