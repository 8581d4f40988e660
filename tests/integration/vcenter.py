# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Direct pyVmomi access for integration tests: prepare vCenter and check end states independently of the modules."""

from __future__ import annotations

import time

from pyVmomi import vim


def find_vm(client, name):
    view = client.content.viewManager.CreateContainerView(client.content.rootFolder, [vim.VirtualMachine], True)
    try:
        return next((vm for vm in view.view if vm.name == name), None)
    finally:
        view.Destroy()


def all_vm_names(client):
    view = client.content.viewManager.CreateContainerView(client.content.rootFolder, [vim.VirtualMachine], True)
    try:
        return sorted(vm.name for vm in view.view if not vm.config.template)
    finally:
        view.Destroy()


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
    return wait(source.CloneVM_Task(folder=target, name=new_name, spec=spec))


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
    """Add a thin disk called ``label`` (``Hard disk 2``) to a VM, on the controller of its first disk.

    ``disk_mode`` ``independent_persistent`` makes a disk that VM snapshots, hence backups, do not capture."""
    vm = find_vm(client, name)
    disks = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk)]
    used = {d.unitNumber for d in disks if d.controllerKey == disks[0].controllerKey}
    disk = vim.vm.device.VirtualDisk(
        key=-1, controllerKey=disks[0].controllerKey, unitNumber=min(set(range(16)) - used - {7}),
        capacityInKB=size_gb * 1024 * 1024, deviceInfo=vim.Description(label=label, summary="%d GB" % size_gb),
        backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(diskMode=disk_mode, thinProvisioned=True, fileName=""))
    change = vim.vm.device.VirtualDeviceSpec(operation="add", fileOperation="create", device=disk)
    wait(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(deviceChange=[change])))


def destroy_vm(client, name):
    vm = find_vm(client, name)
    if vm is None:
        return
    if vm.runtime.powerState == vim.VirtualMachinePowerState.poweredOn:
        wait(vm.PowerOffVM_Task())
    wait(vm.Destroy_Task())


def take_snapshot(client, name, snapshot_name="user-snapshot"):
    wait(find_vm(client, name).CreateSnapshot_Task(name=snapshot_name, memory=False, quiesce=False))


def tag_vms(client, env, tag_name, vm_names):
    """Create a category and a tag through vCenter's tagging REST API and attach it to the VMs."""
    import requests  # pylint: disable=import-outside-toplevel

    base = "https://%s:%s/rest/com/vmware/cis" % (env["VMWARE_HOST"], env["VMWARE_PORT"])
    http = requests.Session()
    http.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise replace the lab CA
    http.verify = env["VMWARE_CA_PATH"]
    token = http.post(base + "/session", auth=(env["VMWARE_USER"], env["VMWARE_PASSWORD"]), timeout=30).json()["value"]
    http.headers["vmware-api-session-id"] = token
    category = http.post(base + "/tagging/category", timeout=30, json={"create_spec": {
        "name": "cat-" + tag_name, "description": "", "cardinality": "MULTIPLE", "associable_types": []}}).json()["value"]
    tag = http.post(base + "/tagging/tag", timeout=30, json={"create_spec": {
        "name": tag_name, "description": "", "category_id": category}}).json()["value"]
    for name in vm_names:
        moref = find_vm(client, name)._moId  # pylint: disable=protected-access
        response = http.post(base + "/tagging/tag-association/id:%s" % tag, params={"~action": "attach"}, timeout=30,
                             json={"object_id": {"id": moref, "type": "VirtualMachine"}})
        response.raise_for_status()
