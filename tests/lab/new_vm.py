# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Provision a brand new VM, powered off, as a CI pipeline does before it applies the protected_vm role.

Clones SOURCE into a VM named PREFIX-<unique suffix> next to it, through pyVmomi with the VMWARE_* environment
variables (community.vmware's names), and prints {"name": ..., "moref": ...} as JSON. VMs whose names start with
PREFIX- are left over from earlier runs of the scenario (its destroy step provisions nothing): they are removed first.

Usage: python tests/lab/new_vm.py SOURCE PREFIX (the molecule scenario protected_vm and the demo use it)
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import time
import uuid

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim


def connect():
    context = ssl.create_default_context(cafile=os.environ.get("VMWARE_CA_PATH") or None)
    if os.environ.get("VMWARE_VALIDATE_CERTS", "true").lower() in ("0", "false", "no", "off"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return SmartConnect(host=os.environ["VMWARE_HOST"], port=int(os.environ.get("VMWARE_PORT", "443")),
                        user=os.environ["VMWARE_USER"], pwd=os.environ["VMWARE_PASSWORD"], sslContext=context)


def all_vms(service):
    view = service.content.viewManager.CreateContainerView(service.content.rootFolder, [vim.VirtualMachine], True)
    try:
        return list(view.view)
    finally:
        view.Destroy()


def wait(task, timeout=300):
    deadline = time.monotonic() + timeout
    while task.info.state in (vim.TaskInfo.State.queued, vim.TaskInfo.State.running):
        if time.monotonic() > deadline:
            raise TimeoutError("vCenter task %s still running after %ss" % (task, timeout))
        time.sleep(0.2)
    if task.info.state != vim.TaskInfo.State.success:
        raise RuntimeError("vCenter task failed: %s" % task.info.error)
    return task.info.result


def main(argv):
    source_name, prefix = argv
    service = connect()
    try:
        names = {vm: vm.name for vm in all_vms(service)}
        sources = [vm for vm, name in names.items() if name == source_name]
        for leftover in [vm for vm, name in names.items() if name.startswith(prefix + "-")]:
            if leftover.runtime.powerState != vim.VirtualMachinePowerState.poweredOff:
                wait(leftover.PowerOffVM_Task())
            wait(leftover.Destroy_Task())
        if len(sources) != 1:
            raise SystemExit("expected one VM named %s in vCenter, found %d" % (source_name, len(sources)))
        name = "%s-%s" % (prefix, uuid.uuid4().hex[:8])
        spec = vim.vm.CloneSpec(location=vim.vm.RelocateSpec(), powerOn=False, template=False)
        clone = wait(sources[0].CloneVM_Task(folder=sources[0].parent, name=name, spec=spec))
        print(json.dumps({"name": name, "moref": clone._moId}))  # pylint: disable=protected-access
    finally:
        Disconnect(service)


if __name__ == "__main__":
    main(sys.argv[1:])
