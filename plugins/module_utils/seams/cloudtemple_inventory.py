# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``CloudTempleInventory``: the VM inventory seam (``seams/vm_inventory.py``) over the Cloud Temple console's VMware
compute API, for customers who have no vCenter login (docs/cloudtemple-api.md section 12; § are its sections).

Considered private: only this collection may import it. It offers none of the seam's capabilities (no folder
membership, tags one resource at a time, no custom attributes, no rename route on record, power on and off only:
``REFUSALS``). VMs are named by moref, as everywhere; the inventory keeps the console's id of each moref it listed
(``compute_id`` in its records, also given as ``instance_uuid``: ``cloudtemple_shapes.listing_record``). A moref two
of the tenant's vCenters share is qualified as ``<moref>@<vCenter name>`` so that every VM keeps its own name.

Reads: ``list_vms`` is one compute listing (§12.1), plus, with devices, each VM's disk list in parallel (§12.3:
``read_many``). Power (§12.5): the VM is read first (its state and datacenter), a power-on asks for the placement
recommendations, then the power call's activity is followed with a deadline. The console refuses to power on a VM
without a usable backup policy (#38, #194; inferred a synchronous 4xx, §16.4): that refusal becomes a
``RuleViolation`` carrying the console's own words.
"""

from __future__ import annotations

import json

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import ApiError, NotFound, RuleViolation
from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple import activities
from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple import compute
from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple._client import read_many
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.rules import POWER_ON_PROTECTION
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams import cloudtemple_shapes as shapes
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.vm_inventory import VmInventory

REFUSALS = {
    "folders": "the console's VM object names no folder (docs/cloudtemple-api.md sections 12.2 and 14: folders are "
               "listed, but nothing links a VM to one); select VMs by vm or name_pattern, and use scope: all",
    "tags": "the console's tag API reads the tags of one resource at a time (docs/cloudtemple-api.md section 12.7), "
            "so a tag selector would read every VM; select VMs by vm or name_pattern",
    "markers": "the console has no custom attributes on VMs (docs/cloudtemple-api.md section 12.2), where this "
               "collection keeps its restore records; restores are made in the Cloud Temple console",
    "rename": "no VM rename route of the console is on record (docs/cloudtemple-api.md section 12); rename the VM "
              "in the Cloud Temple console",
    "reset": "the console's power route takes on and off only (docs/cloudtemple-api.md section 12.5); use state: "
             "powered-off, then state: powered-on",
    "guest_shutdown": "the console's power route takes on and off only (docs/cloudtemple-api.md section 12.5), so a "
                      "guest shutdown cannot be asked for; state: powered-off is a hard power-off",
}

# HTTP statuses of a power-on the console refuses (§16.4: 400, 403, 409 or 422, not recorded; the emulator answers
# 409). 409 and 422 are refusals whatever their text; a 400 or 403 is one when the console speaks of policies (#194:
# "you cannot power on a virtual machine because it has no sla policies"), else a 403 is a missing permission.
REFUSED = (409, 422)
MAYBE_REFUSED = (400, 403)
POLICY_WORDS = ("polic", "sla")


def _console_words(text):
    """The ``message`` of an error body in the console's form (``{"error": {"status", "message"}}``, §2.6; inferred
    for statuses other than 429), else the body as it is (§4.2)."""
    try:
        message = (json.loads(text).get("error") or {}).get("message")
    except (ValueError, AttributeError):
        return text
    return message if isinstance(message, str) and message else text


def _is_power_refusal(error):
    if error.status in REFUSED:
        return True
    text = str(error.description or "").lower()
    return error.status in MAYBE_REFUSED and any(word in text for word in POLICY_WORDS)


class CloudTempleInventory(VmInventory):
    """The VMs of Cloud Temple's console, through a ``CloudTempleClient`` (``client``)."""

    kind = "cloudtemple"
    label = "the Cloud Temple console's compute API"
    OFFERS = frozenset()
    REFUSALS = REFUSALS

    def __init__(self, client):
        self.client = client
        self._ids = {}  # moref (qualified when shared) -> compute id, from the last listing
        self._managers = None

    def _machine_managers(self):
        if self._managers is None:
            self._managers = list(compute.list_machine_managers(self.client))
        return self._managers

    @property
    def instance_uuid(self):
        """The ``instanceUuid`` of the tenant's vCenter (machine manager, §12.6). With several vCenters it is None:
        the records carry their compute ids (``compute_id``), which is what the Cloud Temple backup service joins on,
        and the backup service of SPP needs a vCenter login anyway."""
        managers = self._machine_managers()
        return managers[0].get("instanceUuid") if len(managers) == 1 else None

    def list_vms(self, page_size=1000, devices=True):
        """Every VM of the console, templates included (§12.1: one listing), in the vSphere listing's shape
        (``cloudtemple_shapes.listing_record``); ``devices``: with each VM's disks (one read per VM but templates,
        in parallel). A partial listing (HTTP 206) is logged: it cannot show that a VM is gone."""
        listing = compute.list_vms(self.client)
        if listing.partial:
            self.client.log("the console answered a partial VM list (HTTP 206, %d VM(s)): VMs missing from it are "
                            "not gone" % len(listing))
        morefs = self._morefs(listing)
        disks = {}
        if devices:
            disks = read_many(self.client, compute.list_disks,
                              [str(vm["id"]) for vm in listing if vm.get("id") and not vm.get("template")])
        self._ids = {moref: str(vm.get("id")) for moref, vm in zip(morefs, listing)}
        return [shapes.listing_record(vm, moref, disks.get(str(vm.get("id"))) if devices else None)
                for moref, vm in zip(morefs, listing)]

    def _morefs(self, listing):
        """Each VM's moref, qualified with its vCenter's name (``vm-12@vc-2``) when another vCenter of the tenant has
        a VM with the same moref."""
        counts = {}
        for vm in listing:
            counts[vm.get("moref")] = counts.get(vm.get("moref"), 0) + 1
        names = {}
        for vm in listing:
            if counts[vm.get("moref")] > 1:
                manager = vm.get("machineManager") or {}
                names[id(vm)] = "%s@%s" % (vm.get("moref"), manager.get("name") or vm.get("machineManagerName") or
                                           compute.vm_machine_manager_id(vm))
        return [names.get(id(vm), vm.get("moref")) for vm in listing]

    def _compute_id(self, moref):
        """The console's id of the VM ``moref``, listing the VMs once when it was not listed yet."""
        if moref not in self._ids:
            self.list_vms(devices=False)
        return self._ids.get(moref)

    def _read(self, moref):
        """``(compute id, compute VM object)`` read now; ``(None, None)`` when the console has no such VM."""
        vm_id = self._compute_id(moref)
        vm = compute.get_vm(self.client, vm_id) if vm_id else None
        return (vm_id, vm) if vm is not None else (None, None)

    def vm_details(self, moref):
        """One VM, read now: the listing record's keys without devices, ``marker`` and ``test_record`` None (the
        console keeps no custom attributes); None when the console has no such VM."""
        _vm_id, vm = self._read(moref)
        if vm is None:
            return None
        return dict(shapes.listing_record(vm, moref), marker=None, test_record=None)

    def _vm_or_fail(self, moref):
        _vm_id, vm = self._read(moref)
        if vm is None:
            raise NotFound(None, description="the Cloud Temple console has no VM with moref '%s'" % moref)
        return vm

    def power_on(self, moref, timeout=600, progress=None):
        """Power the VM on unless it runs; returns whether it changed. Asks for the placement recommendations first
        and sends the first one (§12.5, #39, PR #47); an empty list powers on without one."""
        vm = self._vm_or_fail(moref)
        if shapes.listing_record(vm)["power_state"] == "poweredOn":
            return False
        recommendations = compute.power_recommendations(self.client, vm)
        try:
            activity = compute.power(self.client, vm, "on", recommendations[0] if recommendations else None)
        except ApiError as error:
            if not _is_power_refusal(error):
                raise
            raise self._refusal(moref, vm, error) from None
        activities.wait(self.client, activity, timeout, progress=progress)
        return True

    def _refusal(self, moref, vm, error):
        said = self.client.redact(_console_words(error.description or error.message))
        return RuleViolation([{
            "rule": POWER_ON_PROTECTION, "vm": vm.get("name") or moref, "moref": moref, "disk": None,
            "reason": "the Cloud Temple console refused to power it on (HTTP %s): %s" % (error.status, said),
            "fix": "assign it a backup policy that is not held (vm_backup_policy), then power it on; SecNumCloud "
                   "requires one before a VM starts"}], outcome="%s was not powered on" % (vm.get("name") or moref))

    def power_off(self, moref, timeout=600, progress=None, suspended=False):
        """Power the VM off unless it is off; returns whether it changed (the console knows no suspended state,
        §12.2, so ``suspended`` changes nothing)."""
        vm = self._vm_or_fail(moref)
        if shapes.listing_record(vm)["power_state"] == "poweredOff":
            return False
        activities.wait(self.client, compute.power(self.client, vm, "off"), timeout, progress=progress)
        return True
