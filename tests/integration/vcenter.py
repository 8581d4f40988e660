# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place where integration tests talk to vCenter: plain pyVmomi, never the collection's client.

``connect(env)`` logs in with ``pyVim.connect.SmartConnect``; the readers (names, morefs, power states, snapshots,
NICs, custom attributes such as the restore marker, folders) check end states independently of the modules, and the
actions (clone, folders, disks, snapshots, tags) prepare the lab as an administrator or a CI pipeline would.
"""

from __future__ import annotations

import json
import ssl
import time

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl


# -- connection ---------------------------------------------------------------------------------------------------

class Vcenter:
    """A plain pyVmomi session (``.si``, ``.content``); a context manager that logs out on the way out."""

    def __init__(self, env):
        self.env = env
        self.si = None
        self.content = None

    def connect(self):
        if self.si is None:
            self.si = SmartConnect(host=self.env["VMWARE_HOST"], port=int(self.env.get("VMWARE_PORT") or 443),
                                   user=self.env["VMWARE_USER"], pwd=self.env["VMWARE_PASSWORD"],
                                   sslContext=_ssl_context(self.env))
            self.content = self.si.RetrieveContent()
        return self

    def disconnect(self):
        si, self.si, self.content = self.si, None, None
        if si is not None:
            Disconnect(si)

    def __enter__(self):
        return self.connect()

    def __exit__(self, *_exc):
        self.disconnect()
        return False


def _ssl_context(env):
    if env.get("VMWARE_CA_PATH"):
        return ssl.create_default_context(cafile=env["VMWARE_CA_PATH"])
    if str(env.get("VMWARE_VALIDATE_CERTS", "true")).lower() in ("0", "false", "no", "off"):
        return ssl._create_unverified_context()  # pylint: disable=protected-access
    return ssl.create_default_context()


def connect(env):
    """A logged-in ``Vcenter`` for the connection variables ``env`` (VMWARE_HOST, VMWARE_USER ...)."""
    return Vcenter(env).connect()


# -- readers ------------------------------------------------------------------------------------------------------

def _every(client, kind):
    view = client.content.viewManager.CreateContainerView(client.content.rootFolder, [kind], True)
    try:
        return list(view.view)
    finally:
        view.Destroy()


def _all_vms(client):
    return _every(client, vim.VirtualMachine)


def all_hosts(client):
    return _every(client, vim.HostSystem)


def moref(managed_object):
    return managed_object._moId  # pylint: disable=protected-access


def find_vm(client, name):
    return next((vm for vm in _all_vms(client) if vm.name == name), None)


def find_vms(client, name):
    """Every VM named ``name`` (vCenter allows the same name in two folders)."""
    return [vm for vm in _all_vms(client) if vm.name == name]


def all_vm_names(client):
    return sorted(vm.name for vm in _all_vms(client) if not vm.config.template)


def names_like(client, prefix):
    """Names of the VMs whose name starts with ``prefix``, sorted."""
    return [name for name in all_vm_names(client) if name.startswith(prefix)]


def power_state(client, name):
    return str(find_vm(client, name).runtime.powerState)


def vm_facts(client):
    """VM name -> (moref, power state) of every VM that is not a template."""
    return {vm.name: (moref(vm), str(vm.runtime.powerState)) for vm in _all_vms(client) if not vm.config.template}


def nics(vm):
    return [device for device in vm.config.hardware.device if isinstance(device, vim.vm.device.VirtualEthernetCard)]


def macs(client, name):
    return sorted(nic.macAddress for nic in nics(find_vm(client, name)))


def custom_value(client, vm, field_name):
    """The JSON value of the custom attribute ``field_name`` on ``vm`` (the collection's restore marker and test
    record are such attributes), or None when it is unset."""
    fields = client.content.customFieldsManager.field or []
    key = next((field.key for field in fields if field.name == field_name), None)
    values = [value.value for value in vm.customValue or [] if value.key == key]
    return json.loads(values[-1]) if values and values[-1] else None


def snapshot_names(client, name):
    """Snapshot names of a VM, read through the PropertyCollector (the simulator fails lazy reads of unset values)."""
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=find_vm(client, name))],
        propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=["snapshot"])])
    names = []
    for content in client.content.propertyCollector.RetrieveContents([spec]):
        for prop in content.propSet or []:
            pending = list(prop.val.rootSnapshotList if prop.val else [])
            while pending:
                tree = pending.pop()
                names.append(tree.name)
                pending.extend(tree.childSnapshotList or [])
    return sorted(names)


def find_folder(client, path):
    """The inventory folder at ``path`` (``/DC0/vm/prod``), or None."""
    node = client.content.rootFolder
    for part in [p for p in path.split("/") if p]:
        children = node.vmFolder if isinstance(node, vim.Datacenter) and part == "vm" else None
        if children is None:
            children = next((c for c in getattr(node, "childEntity", []) if c.name == part), None)
        if children is None:
            return None
        node = children
    return node


def folder_path(vm):
    """The VM folder path of ``vm`` (``/DC0/vm/prod``)."""
    parts, node = [], vm.parent
    while node is not None and not isinstance(node, vim.Datacenter):
        parts.append(node.name)
        node = node.parent
    return "/" + "/".join(([node.name] if node is not None else []) + list(reversed(parts)))


def networks_of(vm):
    """Names of the networks the VM's NICs are on."""
    return [network.name for network in vm.network]


# -- actions ------------------------------------------------------------------------------------------------------

def wait(task, timeout=120):
    deadline = time.monotonic() + timeout
    while task.info.state in (vim.TaskInfo.State.queued, vim.TaskInfo.State.running):
        if time.monotonic() > deadline:
            raise TimeoutError("vCenter task %s still running" % task)
        time.sleep(0.05)
    if task.info.state != vim.TaskInfo.State.success:
        raise RuntimeError("vCenter task failed: %s" % task.info.error)
    return task.info.result


def clone_vm(client, source_name, new_name, power_on=False, folder=None):
    """A new VM next to ``source_name``, or in ``folder`` (a path), as a CI pipeline's provisioning step does."""
    source = find_vm(client, source_name)
    target = find_folder(client, folder) if folder else source.parent
    spec = vim.vm.CloneSpec(location=vim.vm.RelocateSpec(), powerOn=power_on, template=False)
    vm = wait(source.CloneVM_Task(folder=target, name=new_name, spec=spec))
    if power_on and vm.runtime.powerState != vim.VirtualMachinePowerState.poweredOn:  # the simulator may ignore it
        wait(vm.PowerOnVM_Task())
    return vm


def power_on(client, name):
    vm = find_vm(client, name)
    if vm.runtime.powerState != vim.VirtualMachinePowerState.poweredOn:
        wait(vm.PowerOnVM_Task())


def create_folder(client, path):
    """Create the VM folder ``path`` (its parent must exist); return it. An existing folder is returned as is."""
    folder = find_folder(client, path)
    if folder is None:
        parent, name = path.rstrip("/").rsplit("/", 1)
        folder = find_folder(client, parent).CreateFolder(name)
    return folder


def destroy_folder(client, path):
    """Remove an empty folder; nothing when it does not exist."""
    folder = find_folder(client, path)
    if folder is not None:
        wait(folder.Destroy_Task())


def add_disk(client, name, label, size_gb=1, disk_mode="persistent"):
    """Add a thin disk called ``label`` (``Hard disk 2``) to a VM, on the controller of its first disk; return the
    label vCenter reports for it.

    ``disk_mode`` ``independent_persistent`` makes a disk that VM snapshots, hence backups, do not capture."""
    vm = find_vm(client, name)
    disks = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk)]
    used = {d.unitNumber for d in disks if d.controllerKey == disks[0].controllerKey}
    unit = min(set(range(16)) - used - {7})
    disk = vim.vm.device.VirtualDisk(
        key=-1, controllerKey=disks[0].controllerKey, unitNumber=unit,
        capacityInKB=size_gb * 1024 * 1024, deviceInfo=vim.Description(label=label, summary="%d GB" % size_gb),
        backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(diskMode=disk_mode, thinProvisioned=True, fileName=""))
    change = vim.vm.device.VirtualDeviceSpec(operation="add", fileOperation="create", device=disk)
    wait(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(deviceChange=[change])))
    added = [d for d in find_vm(client, name).config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk)
             and d.controllerKey == disks[0].controllerKey and d.unitNumber == unit]
    return added[0].deviceInfo.label


def move_nics(client, name, network_name):
    """Put every NIC of the VM on the standard network ``network_name`` (``VM Network``)."""
    vm = find_vm(client, name)
    network = next(n for n in vm.runtime.host.network if n.name == network_name)
    changes = []
    for nic in nics(vm):
        nic.backing = vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(deviceName=network_name, network=network)
        changes.append(vim.vm.device.VirtualDeviceSpec(operation="edit", device=nic))
    wait(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(deviceChange=changes)))


def add_port_group(client, name):
    """A standard port group (a network) ``name`` on the first virtual switch of every host."""
    for host in all_hosts(client):
        spec = vim.host.PortGroup.Specification(name=name, vlanId=0, vswitchName=host.config.network.vswitch[0].name,
                                                policy=vim.host.NetworkPolicy())
        try:
            host.configManager.networkSystem.AddPortGroup(portgrp=spec)
        except vim.fault.DuplicateName:  # the simulator makes one network per name and refuses it on the next host
            pass


def remove_port_group(client, name):
    for host in all_hosts(client):
        if any(group.spec.name == name for group in host.config.network.portgroup):
            host.configManager.networkSystem.RemovePortGroup(pgName=name)


def destroy_vm(client, name):
    vm = find_vm(client, name)
    if vm is None:
        return
    if vm.runtime.powerState == vim.VirtualMachinePowerState.poweredOn:
        wait(vm.PowerOffVM_Task())
    wait(vm.Destroy_Task())


def take_snapshot(client, name, snapshot_name="user-snapshot"):
    wait(find_vm(client, name).CreateSnapshot_Task(name=snapshot_name, memory=False, quiesce=False))


def remove_snapshots(client, name):
    wait(find_vm(client, name).RemoveAllSnapshots_Task())


def _tagging(env):
    """A requests session logged in to vCenter's tagging REST API, and the API's base URL."""
    import requests  # pylint: disable=import-outside-toplevel

    base = "https://%s:%s/rest/com/vmware/cis" % (env["VMWARE_HOST"], env["VMWARE_PORT"])
    http = requests.Session()
    http.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise replace the lab CA
    http.verify = env["VMWARE_CA_PATH"]
    token = http.post(base + "/session", auth=(env["VMWARE_USER"], env["VMWARE_PASSWORD"]), timeout=30).json()["value"]
    http.headers["vmware-api-session-id"] = token
    return http, base


def tag_vms(client, env, tag_name, vm_names, category=None):
    """Create a category (``cat-<tag name>`` unless named) and a tag through vCenter's tagging REST API and attach it
    to the VMs; returns the category id."""
    http, base = _tagging(env)
    category_id = http.post(base + "/tagging/category", timeout=30, json={"create_spec": {
        "name": category or "cat-" + tag_name, "description": "", "cardinality": "MULTIPLE",
        "associable_types": []}}).json()["value"]
    tag = http.post(base + "/tagging/tag", timeout=30, json={"create_spec": {
        "name": tag_name, "description": "", "category_id": category_id}}).json()["value"]
    for name in vm_names:
        response = http.post(base + "/tagging/tag-association/id:%s" % tag, params={"~action": "attach"}, timeout=30,
                             json={"object_id": {"id": moref(find_vm(client, name)), "type": "VirtualMachine"}})
        response.raise_for_status()
    http.close()
    return category_id


def delete_tag_category(env, category_id):
    """Delete a tag category and its tags (tagging REST API)."""
    http, base = _tagging(env)
    http.delete(base + "/tagging/category/id:%s" % category_id, timeout=30).raise_for_status()
    http.close()


# -- a second datacenter whose names repeat the first one's -------------------------------------------------------

def add_twin_datacenter(client, name, cluster, host, datastore, datastore_path):
    """A datacenter ``name`` with a cluster, a standalone host and a local datastore (at ``datastore_path``, a local
    directory: the simulator runs here) named like the first datacenter's; the simulator gives the host a
    ``VM Network`` of its own. Everything but the datacenter sits in a host subfolder, which can be destroyed with
    its content (the simulator cannot destroy a cluster)."""
    datacenter = client.content.rootFolder.CreateDatacenter(name=name)
    folder = datacenter.hostFolder.CreateFolder("twin")
    folder.CreateClusterEx(name=cluster, spec=vim.cluster.ConfigSpecEx())
    added = wait(folder.AddStandaloneHost_Task(spec=vim.host.ConnectSpec(hostName=host, force=True),
                                               addConnected=True))
    # The simulator answers the host, vCenter its compute resource.
    added = added if isinstance(added, vim.HostSystem) else added.host[0]
    added.configManager.datastoreSystem.CreateLocalDatastore(name=datastore, path=datastore_path)
    return datacenter


def remove_twin_datacenter(client, name):
    """Destroy the datacenter ``add_twin_datacenter`` made: its datastores, its host subfolder, then itself."""
    datacenter = next((dc for dc in _every(client, vim.Datacenter) if dc.name == name), None)
    if datacenter is None:
        return
    for datastore in list(datacenter.datastore):
        wait(datastore.Destroy_Task())
    for folder in list(datacenter.hostFolder.childEntity):
        wait(folder.Destroy_Task())
    wait(datacenter.Destroy_Task())
