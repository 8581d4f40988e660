# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backup service seam: the interface every service talks to, whichever backup service is behind it.

Considered private: only this collection may import it. Services get a ``BackupService`` (and a ``VmInventory``,
``seams/vm_inventory.py``) from the glue (``_module.seams``) and never import a client package. Two backends:
``seams/spp_backup.py`` (IBM Storage Protect Plus over its REST API) and ``seams/cloudtemple_backup.py``
(the Cloud Temple console API, which fronts SPP: docs/cloudtemple-api.md).

**Capabilities.** What only some backends can do is named by a capability (``OPERATIONS``). A service that needs one
calls ``require(capability)`` before its first call to the backend, which raises ``_errors.Unsupported`` ("<operation>
is not offered by <label>: <why>") when the backend lacks it, so nothing is read or written for nothing. Each backend
words its own refusals (``REFUSALS``: capability -> why). The methods of a capability ``require`` it too, here, before
they call the backend's hook (``_<method>``): a backend implements the hook, never the public method, so a service
that forgot to ask still fails before any call, whatever the backend. Every other method is abstract: a backend that
lacks one cannot be built (``abc``); a hook left out raises ``hook_missing``'s ``TypeError``, which ``require``
keeps out of reach when the backend does not offer the capability.

**Shapes.** Records of the joined inventory have the keys of ``pure/inventory_join.py`` (``spp_id`` is the backup
service's id of the VM or disk, whatever the backend; ``known_to_backup``, ``policies``, ``spp_site_id`` ...). SLA
policy definitions, job sessions and recovery points are in SPP's shapes, read by ``spp/answers.py`` and the pure
planners (the console API returns SPP's objects, renamed: a backend maps them back). A backend keeps its raw objects
(hrefs, links) to itself: writes name VMs and disks by the ids of the records it returned from the last
``read_joined``.
"""

from __future__ import annotations

import abc

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import Unsupported

# Each capability of the backup service, as the subject of the refusal's sentence.
OPERATIONS = {
    "restore": "restoring a VM (vm_restore)",
    "sla_policy_write": "creating, changing or deleting an SLA policy",
    "hold_release": "holding or releasing an SLA policy's job",
    "vm_backup": "a backup of chosen VMs only (an ad hoc backup)",
    "backup_options": "per-VM backup options (quiesce, fallback_to_crash_consistent)",
    "job_logs": "reading the log of a job session",
    "recovery_points": "reading a VM's recovery points",
    "vm_listing": "a list of every VM the backup service knows",
    # Without it, the disk policy site rule cannot be checked by this collection; the service leaves it to the backup
    # service's own check and says so (services/assignments.py).
    "vm_sites": "the site (availability zone) a VM runs in, which the disk policy site rule compares",
}


class Seam(abc.ABC):
    """What both seams share: who is behind them (``kind``, ``label``) and what they offer.

    A backend sets ``OFFERS`` (the capabilities it has) and ``REFUSALS`` (capability -> why not, in its own words).
    """

    kind = None
    label = None
    OPERATIONS = {}
    OFFERS = frozenset()
    REFUSALS = {}

    def offers(self, capability):
        """Whether the backend offers ``capability`` (a key of ``OPERATIONS``)."""
        if capability not in self.OPERATIONS:
            raise ValueError("unknown capability %s of %s; known: %s"
                             % (capability, type(self).__name__, ", ".join(sorted(self.OPERATIONS))))
        return capability in self.OFFERS

    def hook_missing(self, capability):
        """The error of a capability's hook that the backend offers but left out: a programming error, never a user's
        (``require`` stops every call to a hook of a capability the backend does not offer)."""
        return TypeError("%s offers %s but does not implement it" % (type(self).__name__, capability))

    def require(self, capability):
        """Raise ``Unsupported`` when the backend does not offer ``capability``; call it before any call."""
        if not self.offers(capability):
            why = self.REFUSALS.get(capability) or "it has no such operation"
            raise Unsupported(self.OPERATIONS[capability], self.label, why, capability=capability, backend=self.kind)


class BackupService(Seam):
    """The interface. Methods under a capability ``require`` it before anything else; the others every backend has.

    ``kind`` is ``spp`` or ``cloudtemple``; ``label`` names the service in messages ("IBM Storage Protect Plus").
    """

    OPERATIONS = OPERATIONS
    # How ``services/joined_inventory.collect_inventory`` waits for VMs a rescan should make visible. False: one
    # inventory run that has ended shows every VM vCenter showed it (SPP: spp-api.md section 14, decision 6), so a
    # VM still missing was not seen by that run, and only another run can show it: the rescan runs again. True: one
    # run is enough, but the backup service shows its VMs some time after it ended (the console, #72:
    # docs/cloudtemple-api.md sections 10.4 step 3 and 15), so the VMs are read again, with a backoff, without
    # running the tenant-wide inventory again.
    RESCAN_ONCE = False

    # -- the joined inventory ------------------------------------------------------------------------------------

    @abc.abstractmethod
    def read_joined(self, vcenter, with_disks=True, page_size=1000, only=None):
        """Read the backup service's view of the VMs and join it with the VM inventory's: ``(vms, vcenter_only,
        backup_only)`` (``pure/inventory_join.join_inventories``: the keys services use, each list sorted by name).

        ``vcenter()`` returns ``(instance_uuid, vms)``: the vCenter's instance UUID (``VmInventory.instance_uuid``)
        and its listing (``VmInventory.list_vms``). The caller may be reading that listing in a thread, so a backend
        calls it when it needs it (SPP: after its own listings, so that both servers answer at the same time; a
        backend without ``vm_listing``: first, then it reads its VMs by id, and ``backup_only`` is empty).
        ``with_disks``: the disks too. ``only``: None, or the morefs the caller needs; a backend that reads per VM
        (without ``vm_listing``) then reads those only and leaves the others out of the result, one that lists in
        bulk ignores it (its result may hold more). Remembers what writes need (raw objects by id) until the next
        call."""

    @abc.abstractmethod
    def last_backups(self, backup_ids=None, search_first=None, page_size=1000):
        """``{backup id: {"time", "policy", "source", "version"}}``: the newest recovery point of the VMs of the last
        ``read_joined`` (all of them by default), read once per ``read_joined``; ``time`` None when there is none or
        the backend cannot say, ``source`` where it was read (``spp/listing.py``, ``last_backups``)."""

    @abc.abstractmethod
    def rescan(self, timeout, progress=None):
        """Run the backup service's inventory of vCenter and wait for it (``timeout`` seconds); ``progress(text)``."""

    # -- policies ------------------------------------------------------------------------------------------------

    @abc.abstractmethod
    def sla_policies(self, page_size=1000):
        """Every SLA policy, as SPP's definition (``{"id", "name", "description", "spec": {"subpolicy": [...]}}``,
        read by ``pure/sla_definition.py``). Remembered by name for ``assign``."""

    @abc.abstractmethod
    def find_policy(self, name, policies):
        """The policy of ``policies`` named ``name``; ``NotFound`` naming the known ones otherwise."""

    @abc.abstractmethod
    def policy_jobs(self, page_size=1000):
        """``{policy name: {"job", "held", "running", "session_id"}}`` for the policies that have a backup job: its
        name, whether it is held (a held policy protects nothing), whether it runs now, and its last session id."""

    @abc.abstractmethod
    def sites(self, page_size=1000):
        """The backup sites, ``[{"id", "name"}]``."""

    # -- assignments ---------------------------------------------------------------------------------------------

    @abc.abstractmethod
    def assign(self, resources, policy_names):
        """Set the SLA policies of ``resources`` to exactly ``policy_names`` (replace semantics). ``resources``:
        ``[(vm_id, disk_id or None)]``, the ``spp_id`` of records of the last ``read_joined`` (a disk when
        ``disk_id`` is given). Policies by the names of the last ``sla_policies``."""

    @abc.abstractmethod
    def policy_sets(self, resources, page_size=1000):
        """``{(vm_id, disk_id): sorted policy names, or None when the service no longer has it}``, read now: the
        read-back of the concurrent change guard (``pure/concurrent_change.py``), in bulk where the service can."""

    def vm_options(self, vm_id):
        """The backup options of one VM (SPP's keys: ``makeApplicationConsistent`` ...). Capability ``backup_options``."""
        self.require("backup_options")
        return self._vm_options(vm_id)

    def _vm_options(self, vm_id):
        raise self.hook_missing("backup_options")

    def set_options(self, vm_ids, options):
        """Set backup ``options`` on the VMs ``vm_ids``. Capability ``backup_options``."""
        self.require("backup_options")
        return self._set_options(vm_ids, options)

    def _set_options(self, vm_ids, options):
        raise self.hook_missing("backup_options")

    # -- backup runs ---------------------------------------------------------------------------------------------

    @abc.abstractmethod
    def start_policy_backup(self, policy):
        """Run the backup job of SLA ``policy`` (every resource it protects); the id of its job session."""

    def start_vm_backup(self, policy, vm_ids):
        """Back up the VMs ``vm_ids`` only, with SLA ``policy``; the id of its job session. Capability ``vm_backup``."""
        self.require("vm_backup")
        return self._start_vm_backup(policy, vm_ids)

    def _start_vm_backup(self, policy, vm_ids):
        raise self.hook_missing("vm_backup")

    @abc.abstractmethod
    def running_session(self, policy):
        """The running session of ``policy``'s job (after a refused start, ``Conflict``), or None."""

    @abc.abstractmethod
    def session(self, session_id):
        """One job session (SPP's shape: ``id``, ``status``, ``start``, ``end``, ``duration``, ``percent`` ...)."""

    @abc.abstractmethod
    def wait_sessions(self, session_ids, timeout, poll, progress=None, seen=None):
        """Wait until the sessions end (``spp/jobs.py``, ``wait_for_sessions``): ``{id: last read}``, also kept in
        ``seen``; ``progress(session)`` after each read; ``WaitTimeout`` naming those still running."""

    @abc.abstractmethod
    def backup_sessions(self, since_ms, page_size=1000):
        """The backup job sessions that started since ``since_ms`` (epoch ms)."""

    def session_logs(self, session_id, types=None):
        """The log entries of a session (``types``: only those, e.g. ``("WARN", "ERROR")``). Capability ``job_logs``."""
        self.require("job_logs")
        return self._session_logs(session_id, types=types)

    def _session_logs(self, session_id, types=None):
        raise self.hook_missing("job_logs")

    def session_points(self, wanted, sessions, log=None):
        """``{(session id, vm_id): the recovery point that session made for the VM, or None}`` for the pairs of
        ``wanted``; ``sessions``: ``{session id: session}``; ``log(text)``. Capability ``recovery_points``."""
        self.require("recovery_points")
        return self._session_points(wanted, sessions, log=log)

    def _session_points(self, wanted, sessions, log=None):
        raise self.hook_missing("recovery_points")

    def latest_point(self, vm_id):
        """The newest recovery point of a VM of the last ``read_joined``, or None. Capability ``recovery_points``."""
        self.require("recovery_points")
        return self._latest_point(vm_id)

    def _latest_point(self, vm_id):
        raise self.hook_missing("recovery_points")

    # -- what only some backends offer, handed out as a whole -----------------------------------------------------

    def restorer(self):
        """The restore operations (``seams/spp_restorer.py``'s methods). Capability ``restore``."""
        self.require("restore")
        return self._restorer()

    def _restorer(self):
        raise self.hook_missing("restore")

    def policy_admin(self):
        """The SLA policy writes, and the hold and release of their jobs (``seams/spp_policy_admin.py``'s methods).
        Capability ``sla_policy_write`` (hold and release: ``hold_release`` as well)."""
        self.require("sla_policy_write")
        return self._policy_admin()

    def _policy_admin(self):
        raise self.hook_missing("sla_policy_write")
