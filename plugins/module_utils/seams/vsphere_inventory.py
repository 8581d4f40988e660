# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``VsphereInventory``: the VM inventory seam (``seams/vm_inventory.py``) over vCenter, through the ``vsphere``
client package. It offers every capability of the seam.

Considered private: only this collection may import it. One method per operation, each a call of the ``vsphere/*``
function that does it (the functions are looked up on their modules at call time, so tests replace them there).
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.vm_inventory import OPERATIONS, VmInventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import listing as vsphere_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import restore_requests
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import tags as vsphere_tags
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import vms as vsphere_vms


def _task_progress(progress):
    """A vSphere task's progress (its ``TaskInfo``) as the text ``progress`` takes, or None without one."""
    if progress is None:
        return None

    def report(info):
        progress("vSphere task %s: %s" % (info.key, info.state))
    return report


class VsphereInventory(VmInventory):
    """vCenter's VMs through a ``VsphereClient`` (``client``, connected by the glue)."""

    kind = "vsphere"
    label = "vCenter"
    OFFERS = frozenset(OPERATIONS)
    REQUESTS_FIELD = restore_requests.REQUESTS_FIELD

    def __init__(self, client):
        self.client = client

    @property
    def instance_uuid(self):
        return self.client.instance_uuid

    def list_vms(self, page_size=1000, devices=True):
        return vsphere_listing.list_vms(self.client, page_size=page_size, devices=devices)

    def vm_details(self, moref):
        return vsphere_vms.vm_details(self.client, moref)

    def power_on(self, moref, timeout=600, progress=None):
        return vsphere_vms.power_on_vm(self.client, moref, timeout=timeout, progress=_task_progress(progress))

    def power_off(self, moref, timeout=600, progress=None, suspended=False):
        return vsphere_vms.power_off_vm(self.client, moref, timeout=timeout, progress=_task_progress(progress),
                                        suspended=suspended)

    def _reset(self, moref, timeout=600, progress=None):
        return vsphere_vms.reset_vm(self.client, moref, timeout=timeout, progress=_task_progress(progress))

    def _shutdown_guest(self, moref):
        return vsphere_vms.shutdown_guest(self.client, moref)

    def _tag_members(self, selectors):
        return vsphere_tags.members_of_tags(self.client, selectors)

    def _find_folder(self, path):
        return vsphere_vms.find_folder(self.client, path)

    def _rename(self, moref, name, timeout=600):
        return vsphere_vms.rename_vm(self.client, moref, name, timeout=timeout)

    def _list_vms_with_markers(self):
        return vsphere_vms.list_vms_with_markers(self.client)

    def _set_marker(self, moref, marker):
        return vsphere_vms.set_marker(self.client, moref, marker)

    def _set_test_record(self, moref, record):
        return vsphere_vms.set_marker(self.client, moref, record, field=vsphere_vms.TEST_FIELD)

    def _restore_requests(self):
        return restore_requests.read_records(self.client)

    def _write_restore_request(self, key, record):
        return restore_requests.write_record(self.client, key, record)
