# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The VM inventory seam: the interface services use to read and act on VMs, whichever API is behind it.

Considered private: only this collection may import it. Backends: ``seams/vsphere_inventory.py`` (vCenter through
pyVmomi and its tagging REST API) and, later, ``seams/cloudtemple_inventory.py`` (the console's compute API, for users
without a vCenter login: docs/cloudtemple-api.md section 12). Capabilities work as for the backup service
(``seams/backup_service.py``, ``Seam``): ``require`` raises ``Unsupported`` before any call, and the methods of a
capability ``require`` it before they call the backend's hook (``_<method>``), which is what a backend implements.

**Shapes.** A VM record has the keys of ``vsphere/listing.py`` (``name``, ``moref``, ``instance_uuid``,
``power_state`` as vSphere spells it (``poweredOn``, ``poweredOff``, ``suspended``), ``template``,
``has_snapshots``, ``folder``, ``datacenter``, ``host``, ``cluster``, and with devices ``disks`` and ``nics``). VMs
are named by their ``moref`` in every call.
"""

from __future__ import annotations

import abc

from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.backup_service import Seam

# Each capability of the VM inventory, as the subject of the refusal's sentence.
OPERATIONS = {
    "folders": "VM folders (the folder and scope selectors, a restore's folder)",
    "tags": "VM tags (the tag selector)",
    "markers": "custom attributes on VMs (the restore markers and request records of vm_restore)",
    "rename": "renaming a VM",
    "reset": "resetting a VM (state: restarted of a running VM)",
    "guest_shutdown": "a guest shutdown (state: shutdown-guest)",
}


class VmInventory(Seam):
    """The interface. ``kind`` is ``vsphere`` or ``cloudtemple``; ``label`` names it in messages."""

    OPERATIONS = OPERATIONS

    @property
    @abc.abstractmethod
    def instance_uuid(self):
        """The instance UUID of the vCenter that holds the VMs (what the backup service registers it by)."""

    @abc.abstractmethod
    def list_vms(self, page_size=1000, devices=True):
        """Every VM, templates included, in one bulk read; ``devices``: with ``disks`` and ``nics`` (the costly part)."""

    @abc.abstractmethod
    def vm_details(self, moref):
        """One VM, read now (``name``, ``moref``, ``instance_uuid``, ``power_state``, ``marker`` ...), or None."""

    @abc.abstractmethod
    def power_on(self, moref, timeout=600, progress=None):
        """Power the VM on and wait (``timeout`` seconds); ``progress(text)``."""

    @abc.abstractmethod
    def power_off(self, moref, timeout=600, progress=None, suspended=False):
        """Power the VM off and wait; ``suspended``: a suspended VM counts as one to power off."""

    def reset(self, moref, timeout=600, progress=None):
        """Reset a running VM and wait. Capability ``reset``."""
        self.require("reset")
        return self._reset(moref, timeout=timeout, progress=progress)

    def _reset(self, moref, timeout=600, progress=None):
        raise self.hook_missing("reset")

    def shutdown_guest(self, moref):
        """Ask the guest to shut down (returns at once). Capability ``guest_shutdown``."""
        self.require("guest_shutdown")
        return self._shutdown_guest(moref)

    def _shutdown_guest(self, moref):
        raise self.hook_missing("guest_shutdown")

    def tag_members(self, selectors):
        """``{selector: set of morefs}`` for tag selectors (``name`` or ``category/name``). Capability ``tags``."""
        self.require("tags")
        return self._tag_members(selectors)

    def _tag_members(self, selectors):
        raise self.hook_missing("tags")

    def find_folder(self, path):
        """The VM folder at an inventory path (``/DC0/vm/restored``), or None. Capability ``folders``."""
        self.require("folders")
        return self._find_folder(path)

    def _find_folder(self, path):
        raise self.hook_missing("folders")

    def rename(self, moref, name, timeout=600):
        """Rename a VM and wait. Capability ``rename``."""
        self.require("rename")
        return self._rename(moref, name, timeout=timeout)

    def _rename(self, moref, name, timeout=600):
        raise self.hook_missing("rename")

    # -- the records of vm_restore (capability markers) -----------------------------------------------------------

    REQUESTS_FIELD = None  # where the request records live, as messages name it

    def list_vms_with_markers(self):
        """Every VM with its restore ``marker`` and ``test_record`` (None when absent). Capability ``markers``."""
        self.require("markers")
        return self._list_vms_with_markers()

    def _list_vms_with_markers(self):
        raise self.hook_missing("markers")

    def set_marker(self, moref, marker):
        """Write the restore marker of a VM; returns it. Capability ``markers``."""
        self.require("markers")
        return self._set_marker(moref, marker)

    def _set_marker(self, moref, marker):
        raise self.hook_missing("markers")

    def set_test_record(self, moref, record):
        """Write the test record of a VM (the result of a restore test of its backup). Capability ``markers``."""
        self.require("markers")
        return self._set_test_record(moref, record)

    def _set_test_record(self, moref, record):
        raise self.hook_missing("markers")

    def restore_requests(self):
        """``{source key: request record}`` of the replacing restores in progress. Capability ``markers``."""
        self.require("markers")
        return self._restore_requests()

    def _restore_requests(self):
        raise self.hook_missing("markers")

    def write_restore_request(self, key, record):
        """Write (``record``) or remove (None) a request record; returns what was written. Capability ``markers``."""
        self.require("markers")
        return self._write_restore_request(key, record)

    def _write_restore_request(self, key, record):
        raise self.hook_missing("markers")
