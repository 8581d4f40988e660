#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vm_restore
short_description: Restore a VM from an IBM Storage Protect Plus recovery point in test, clone or production mode
version_added: 0.1.0
description:
  - Restores a VMware VM from one of its recovery points on IBM Storage Protect Plus (SPP), and manages the lifecycle
    of a test restore (promote it to production, keep it as a clone, or clean it up).
  - "Modes, as in the service's documentation: V(test) (the default, to preserve production) creates a temporary VM,
    named C(<name>_TEST) by default, with its network adapters disconnected unless O(network_map) maps a network;
    V(clone) creates a permanent VM, named C(<name>_CLONE) by default, with a new instance UUID and new MAC addresses,
    connected; V(production) replaces the current VM, which is B(destroyed): the restored VM takes its name, instance
    UUID and MAC addresses."
  - A production restore requires O(overwrite=true) while the current VM exists, or O(keep_current=true) to keep it
    as C(<name>_OLD). A promotion (O(state=promoted)) destroys the current VM too, and requires O(overwrite=true).
    Without confirmation, the module refuses before anything is sent, and the message explains the alternatives.
  - "Every precondition is checked before the first change, in check mode too: the confirmation, the recovery point,
    the host or cluster, the datastores and networks of the maps (on the backup server) and the folder (in vCenter)."
  - "A restore that replaces a VM (production, or a promotion) happens B(once per request). The request key is
    O(restore_id) when given, else O(recovery_point) as written (V(latest) by default). Running the same task again
    restores nothing, even after newer backups, after a O(wait=false) run, or days later: the restored VM's marker
    records the key. To restore the same VM again, change the request: pin another recovery point, or give a new
    O(restore_id)."
  - "A replacing restore records its progress before its first change, in the custom attribute
    C(sovereign.vm_backup.restore_requests) of vCenter's root folder (the request key, the recovery point, the
    policies of the VM it replaces, the restore session and the last step done). A run stopped at any point (an
    error, a timeout, a killed process) is resumed by running the same task again: it follows the recorded session
    instead of posting another restore, and goes on with the steps left. The steps are: rename the current VM
    (O(keep_current)), restore, power the renamed VM off, promote (O(state=promoted)), protect the restored VM with
    the replaced VM's policies (O(reprotect)), then mark it; only then does the request count as done."
  - "Restores that replace nothing (test and clone) are idempotent through their marker: the custom attribute
    C(sovereign.vm_backup.restore) on the restored VM, holding the source VM, the recovery point, the mode, the
    restore session and the lifecycle state. A run that finds a VM whose marker matches the source, the recovery point
    and the mode changes nothing."
  - A run never starts a second restore of the same source, point and mode. Before posting a test or clone restore it
    looks for a restore job session of the last 24 hours whose logs name the source VM (for example a run whose answer
    was lost, or one that stopped waiting); it follows a session that still runs, and adopts a finished one when
    vCenter shows the VM it made, under the restore's name and without a marker. The backup server does not say which
    VMs or which recovery point a session restored, so vCenter and the marker decide. A restore POST is never sent
    twice; when its answer is lost (a dropped connection, a TLS error or a gateway error after it was sent) the run
    looks for the session it started.
  - Check mode resolves everything and returns the plan (RV(plan)) - the recovery point with its time, the target, the
    name, and the VMs that would be destroyed - without sending any restore or action.
  - Not available with O(backup_service=cloudtemple), whose public API offers no restore; see the notes.
author:
  - sovereign.vm_backup maintainers (@sovereign-cloud)
extends_documentation_fragment:
  - sovereign.vm_backup.connection.spp
  - sovereign.vm_backup.connection.vcenter
  - sovereign.vm_backup.attributes
attributes:
  check_mode:
    support: full
    details: Check mode reads both servers and returns the plan, including the refusals; it sends no restore and no
      test-restore action, and writes no marker.
  diff_mode:
    support: full
    details: The diff shows which VMs are present before and after, by name.
  idempotent:
    support: full
    details: Through the marker on the restored VM and the restore sessions of the backup server. With O(wait=false)
      the marker is written by the next run that finds the finished session.
  action_group:
    support: full
    membership:
      - sovereign.vm_backup.all
options:
  vm:
    description:
      - The VM to restore, by name, moref (C(vm-42)) or instance UUID; a non-empty string. A name that several
        vCenter VMs share, or that is another VM's moref or instance UUID (a VM named C(vm-42)), is refused before
        any change.
      - It may no longer exist in vCenter; its recovery points are found on the backup server, for a VM deleted since
        its last backup too. A VM restored in production keeps its recovery points (the lineage is followed by
        instance UUID).
    type: str
    required: true
  recovery_point:
    description:
      - "Which recovery point to restore: V(latest) (the default), a recovery point id (RV(recovery_point.id)), or a
        dict C({before: <time>}) for the newest point strictly before an ISO 8601 time (C(2026-01-31T22:00:00Z); UTC
        when no offset is given) or epoch milliseconds."
      - With O(state=absent), leaving it unset cleans up the test restores of every point of the VM.
    type: raw
  copy:
    description:
      - Which copy of the recovery point to restore from, when it has several. Unset lets the backup server choose.
    type: str
    choices: [backup, replication, offload]
  mode:
    description:
      - V(test) restores a temporary VM next to the original, V(clone) a permanent copy with a new identity, and
        V(production) replaces the current VM (see O(overwrite)).
    type: str
    choices: [test, clone, production]
    default: test
  name:
    description:
      - Name of the restored VM. Defaults to C(<vm>_TEST) in test mode and C(<vm>_CLONE) in clone mode.
      - Not allowed in production mode, which keeps the original name.
      - With O(state=absent), cleans up only the test VM of that name. A test VM without a marker (left by a run that
        stopped before writing it) is cleaned up only when neither O(recovery_point) nor O(test_result) is given.
    type: str
  state:
    description:
      - Lifecycle of the restore. V(present) means restored. For test restores, V(promoted) moves the test VM to
        production (the backup server's "rrp" action; the original VM is B(destroyed), and the test VM takes its name,
        instance UUID and MAC addresses), V(cloned) keeps the test VM as a permanent clone (new instance UUID and MAC
        addresses, network connected), and V(absent) cleans the test VM up and ends the restore session.
      - V(promoted) and V(cloned) restore first when no test restore of that point exists yet.
      - V(promoted), V(cloned) and V(absent) apply to O(mode=test) only.
    type: str
    choices: [present, promoted, cloned, absent]
    default: present
  overwrite:
    description:
      - Confirms that a production restore, or a promotion (O(state=promoted)), may destroy the current VM. Required
        with O(mode=production) while the current VM exists in vCenter (unless O(keep_current=true)), and with
        O(state=promoted) while a VM carries the source's name; a restore of a VM that no longer exists does not need
        it.
    type: bool
    default: false
  restore_id:
    description:
      - The request key of a restore that replaces a VM (O(mode=production) or O(state=promoted)), for example a
        change ticket. The restore happens once per key; the restored VM's marker records it.
      - Without it, the key is O(recovery_point) as written, so that a task with V(latest) restores once, not again
        after each new backup.
      - The same key with another pinned O(recovery_point) is refused; give a new key to restore again.
    type: str
  reprotect:
    description:
      - After a restore that replaces a VM, protect the restored VM (which the backup server sees as a new VM) with the
        SLA policies the backup server recorded for the VM it replaced, read before any change. The inventory is
        rescanned until the backup server shows the restored VM, and the assignment rules are checked first.
      - With V(false), the module warns instead, and the policies are in RV(protected_with).
    type: bool
    default: true
  keep_current:
    description:
      - With O(mode=production), keep the current VM instead of destroying it, as the service's documentation
        recommends - it is renamed C(<vm>_OLD) and, once the restore succeeded, powered off. The restored VM takes
        the original name; as a clone on the backup server's side, it gets a new instance UUID and new MAC
        addresses.
      - The rename comes first, so that the name is free; if anything fails before the restore may have been posted,
        or the restore fails, the current VM gets its name back and its power state is not changed. If giving the name
        back fails too, the message says which VM has which name and how to fix it.
      - Excludes O(overwrite=true).
    type: bool
    default: false
  host:
    description:
      - Restore onto this ESXi host instead of the original location, by name as the backup server lists it, as
        C(<datacenter>/<name>) (or C(/<datacenter>/<name>)), or by its href on the backup server.
      - Names are unique per datacenter only. A name that several hosts carry is an error that lists them with their
        datacenter and href, raised before any change (in check mode too); give one of them as the error says.
    type: str
  cluster:
    description:
      - Restore into this cluster instead of the original location, by name as the backup server lists it, as
        C(<datacenter>/<name>), or by its href. A name that several clusters carry is an error, as for O(host).
    type: str
  datastore_map:
    description:
      - Source datastore name to target datastore name, for the restored VM's disks. Source names are those of the
        recovery point's datastores; target names are the backup server's.
      - A target may be given as C(<datacenter>/<name>) (the datacenter of the hosts that mount it) or as its href;
        a name that several datastores carry is an error listing them, raised before any change.
      - Keys and values are non-empty strings; any other entry is refused before any call, all of them in one
        message.
    type: dict
  network_map:
    description:
      - Source network name to target network name, for the restored VM's network adapters. In test mode, adapters on
        a mapped network are connected to the target; unmapped adapters stay disconnected.
      - Source names are those of the recovery point's networks; target names are networks of O(host) or O(cluster),
        else of the host the recovery point was taken on.
      - A target may be given as C(<datacenter>/<name>) or as its href; a name that several networks carry is an error
        listing them, raised before any change.
      - Keys and values are non-empty strings; any other entry is refused before any call, all of them in one
        message.
    type: dict
  folder:
    description: Inventory folder path of the restored VM, for example C(/DC0/vm/restored). Default is the original.
    type: str
  power_on:
    description: Power the restored VM on once restored.
    type: bool
    default: false
  wait:
    description:
      - Wait until the restore (and the test-restore action) ends. With V(false), the module returns once the backup
        server has accepted the request, with RV(session_id) and RV(state=running); a later run follows the session.
    type: bool
    default: true
  test_result:
    description:
      - With O(mode=test) and O(state=absent) (or O(state=promoted)), records the outcome of the test of the recovery
        point on the source VM in vCenter, once the test VM is cleaned up (or promoted). The record is the custom
        attribute C(sovereign.vm_backup.test), JSON holding the recovery point (id and time), the result, when it
        was recorded (ISO 8601 UTC) and the test VM's name. See RV(last_test).
      - After a promotion the record goes on the promoted VM, which replaced the source VM and now carries its name
        and instance UUID, so that it is the source whose record the next test reads.
      - Recording is part of the change. The same record (point, result and test VM) already there is no change.
      - With O(state=absent), O(recovery_point) defaults to V(latest) when this is set.
    type: str
    choices: [passed, failed]
  skip_if_tested:
    description:
      - With O(mode=test) and O(state=present), do nothing when the source VM's test record (see O(test_result))
        says that the resolved recovery point already B(passed) its test. The result is then unchanged, with
        RV(skipped_tested=true) and the record in RV(last_test).
      - A failed test, a test of another recovery point, or no record at all restores as usual. Check mode makes the
        same decision.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait, in all. On timeout the message names the restore session; the job keeps running on the
        server, and running the task again follows that session instead of starting another restore.
      - From 1 to 604800 (a week). A value outside is refused before anything is read or posted.
    type: int
    default: 3600
notes:
  - The restore marker is a vCenter custom attribute definition, C(sovereign.vm_backup.restore), created on first use;
    the vCenter user needs the privileges to create custom attributes and to set their values.
  - Restores go through the backup server's C(POST /ngp/hypervisor?action=restore); a lost answer is never resent.
    Running the task again finds the restore session that the lost request started.
  - The request records of replacing restores are a custom attribute of vCenter's root folder,
    C(sovereign.vm_backup.restore_requests); the vCenter user needs the privilege to set it there too.
  - Once a replacing restore took effect, a marker or request record that vCenter refuses to write (for example
    C(NoPermission) for a user without C(Global.SetCustomField)) does not fail the task; it succeeds with a warning
    that names the restored VM and what a re-run does. The request record is kept, so that a re-run writes the
    marker and restores nothing again. Other vSphere faults fail the task with the privilege or the state at fault
    and a fix.
  - Concurrent plays must not restore the same VM at the same time.
  - "With O(backup_service=cloudtemple), the module fails before any call (vCenter's login included), in check
    mode too: Cloud Temple's public console API offers no restore route (docs/cloudtemple-api.md section 14).
    Restores are made in the Cloud Temple console (U(https://shiva.cloud-temple.com)): the VM's Backups tab
    (C(Sauvegardes)), then Restore (C(Restaurer)), in mode TEST, CLONE or PRODUCTION. The module is ready for a
    restore route, should the console publish one."
seealso:
  - module: sovereign.vm_backup.vm_backup_policy
"""

EXAMPLES = r"""
- name: Test restore of the latest backup, on an isolated network, powered on
  sovereign.vm_backup.vm_restore:
    vm: web01
    power_on: true
  register: test_restore

- name: Promote the test restore to production once it is verified (the current web01 is destroyed)
  sovereign.vm_backup.vm_restore:
    vm: web01
    recovery_point: "{{ test_restore.recovery_point.id }}"
    state: promoted
    overwrite: true

- name: Or clean the test restore up
  sovereign.vm_backup.vm_restore:
    vm: web01
    state: absent

- name: Test the latest backup unless it already passed, then record the outcome on web01
  sovereign.vm_backup.vm_restore:
    vm: web01
    power_on: true
    skip_if_tested: true
  register: tested

- name: Clean up and record that the test passed
  sovereign.vm_backup.vm_restore:
    vm: web01
    recovery_point: "{{ tested.recovery_point.id }}"
    state: absent
    test_result: passed
  when: not tested.skipped_tested

- name: Clone from the last backup before an incident, under a name of our own, on another network
  sovereign.vm_backup.vm_restore:
    vm: web01
    mode: clone
    name: web01_REST
    recovery_point:
      before: "2026-01-31T22:00:00Z"
    network_map:
      VM Network: isolated-net
    folder: /DC0/vm/restored

- name: Put the last backup back in production, keeping the current VM as db01_OLD (powered off)
  sovereign.vm_backup.vm_restore:
    vm: db01
    mode: production
    keep_current: true

- name: Put last night's backup back in production, replacing the current VM
  sovereign.vm_backup.vm_restore:
    vm: db01
    mode: production
    overwrite: true
    power_on: true
"""

RETURN = r"""
name:
  description: Name of the restored VM (in check mode, the name it would get). Null with O(state=absent).
  returned: always
  type: str
  sample: web01_TEST
moref:
  description: Managed object id of the restored VM in vCenter. Null in check mode before the restore exists.
  returned: always
  type: str
  sample: vm-76
instance_uuid:
  description: vCenter instance UUID of the restored VM.
  returned: always
  type: str
macs:
  description: MAC addresses of the restored VM's network adapters, in device order.
  returned: always
  type: list
  elements: str
nics:
  description: The restored VM's network adapters, with C(label), C(mac), C(connected), C(start_connected) and
    C(network).
  returned: always
  type: list
  elements: dict
power_state:
  description: Power state of the restored VM (C(poweredOn), C(poweredOff), C(suspended)).
  returned: always
  type: str
session_id:
  description: The restore job session on the backup server (for O(state=absent), the first session cleaned up).
  returned: always
  type: str
  sample: "1795307318036"
mode:
  description: The restore mode.
  returned: always
  type: str
request:
  description: The request key of a restore that replaces a VM (see O(restore_id)).
  returned: with O(mode=production) or O(state=promoted)
  type: str
  sample: "restore_id:CHG-1042"
protected_with:
  description:
    - The SLA policies of the replaced VM, as the backup server recorded them before any change, that the restored VM
      gets (O(reprotect=true)) or should get.
  returned: with O(mode=production) or O(state=promoted)
  type: list
  elements: str
  sample: ["Gold"]
state:
  description:
    - Lifecycle state of the restored VM as recorded by its marker - V(restored), V(promoted), V(cloned) - or
      V(absent) after a clean-up, or V(running) when O(wait=false) returned before the end. Null in check mode when
      nothing was restored yet.
  returned: always
  type: str
recovery_point:
  description: The recovery point used. Null with O(state=absent) and no O(recovery_point).
  returned: always
  type: dict
  contains:
    id:
      description: Id of the recovery point (version) on the backup server.
      type: str
      sample: "1795307314135"
    time:
      description: When the backup was taken, in epoch milliseconds.
      type: int
      sample: 1795307314135
    time_iso:
      description: When the backup was taken, in ISO 8601 UTC.
      type: str
      sample: "2026-11-22T00:28:34.135Z"
    copy_kind:
      description:
        - The copy kind asked for with O(copy), or null when the backup server chose.
        - Not named C(copy), which Jinja's dot notation would resolve to the dictionary method.
      type: str
    copy_id:
      description: Id of that copy.
      type: str
    policy:
      description: The SLA policy whose backup made the recovery point.
      type: str
      sample: Gold
    session_id:
      description: The backup job session that made the recovery point.
      type: str
    session_status:
      description: That session's status (C(COMPLETED), C(PARTIAL), ...), or null when the backup server no longer
        has the session.
      type: str
source:
  description: The source VM.
  returned: always
  type: dict
  contains:
    name:
      description: Its name, as the backup server recorded it.
      type: str
    instance_uuid:
      description: Its vCenter instance UUID.
      type: str
    spp_id:
      description: The backup server's id of the VM the recovery point belongs to.
      type: str
    moref:
      description: The moref of the current VM in vCenter (the one a production restore replaces), or null.
      type: str
    policies:
      description: Its SLA policies on the backup server.
      type: list
      elements: str
plan:
  description:
    - What the task does, or would do in check mode. C(steps) among C(rename_current), C(restore),
      C(power_off_current), C(rrp), C(clone), C(cleanup) and C(mark) (write the marker); C(via) C(post) (a new
      restore) or C(follow) (an existing restore session); C(spp_mode), the restore mode sent to the backup server;
      C(destroys), the VMs that are destroyed (C(name), C(moref), C(instance_uuid)); C(renames), the current VM kept
      by O(keep_current) (C(name), C(moref), C(to)); C(removes), the test VMs cleaned up; C(recovery_point); C(name);
      C(target) (C(location) original or alternate, C(host), C(cluster), C(folder), C(datastore_map),
      C(network_map), C(network) disconnected, mapped or original).
  returned: always
  type: dict
skipped_tested:
  description: Whether nothing was done because the recovery point already passed its test (O(skip_if_tested)).
  returned: always
  type: bool
  sample: false
last_test:
  description:
    - The test record of the source VM (see O(test_result)) - the one just written, or the one found - or null when
      it has none.
  returned: always
  type: dict
  contains:
    recovery_point:
      description: The recovery point tested (C(id), C(time) in epoch milliseconds, C(time_iso)).
      type: dict
    result:
      description: V(passed) or V(failed).
      type: str
    when:
      description: When the result was recorded, ISO 8601 UTC.
      type: str
      sample: "2026-11-22T00:31:02.415Z"
    test_vm:
      description: Name of the test VM.
      type: str
      sample: web01_TEST
removed:
  description: With O(state=absent), the test VMs cleaned up (C(name), C(moref), C(session_id), C(recovery_point_id)).
  returned: when state is absent
  type: list
  elements: dict
  sample: [{"name": "web01_TEST", "moref": "vm-1044", "session_id": "1764900000123",
            "recovery_point_id": "1764896400000"}]
"""

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _module
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import restore_request
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import restore as restore_service


def main():
    module = _module.connected_module(
        dict(
            vm=dict(type="str", required=True),
            recovery_point=dict(type="raw"),
            copy=dict(type="str", choices=["backup", "replication", "offload"]),
            mode=dict(type="str", choices=["test", "clone", "production"], default="test"),
            name=dict(type="str"),
            state=dict(type="str", choices=["present", "promoted", "cloned", "absent"], default="present"),
            overwrite=dict(type="bool", default=False),
            keep_current=dict(type="bool", default=False),
            restore_id=dict(type="str"),
            reprotect=dict(type="bool", default=True),
            host=dict(type="str"),
            cluster=dict(type="str"),
            datastore_map=dict(type="dict"),
            network_map=dict(type="dict"),
            folder=dict(type="str"),
            power_on=dict(type="bool", default=False),
            wait=dict(type="bool", default=True),
            timeout=dict(type="int", default=3600),
            test_result=dict(type="str", choices=["passed", "failed"]),
            skip_if_tested=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("host", "cluster")],
        supports_check_mode=True,
        ranges=restore_request.RANGES,
        string_maps=restore_request.STRING_MAPS,
        texts=restore_request.TEXTS,
    )
    request = {key: module.params[key] for key in (
        "vm", "recovery_point", "copy", "mode", "name", "state", "overwrite", "keep_current", "restore_id", "reprotect",
        "host", "cluster",
        "datastore_map", "network_map", "folder", "power_on", "wait", "timeout", "test_result", "skip_if_tested")}
    # The option combinations and recovery_point are checked again by the service; here, before any call.
    _module.precheck(module, lambda: (restore_request.check_request(request),
                                      restore_request.parse_recovery_point(request["recovery_point"])))
    # requires: a backup service without restores (Cloud Temple's console API) is refused before any call, vCenter's
    # login included.
    _module.run_with_seams(module, lambda backup, inventory: restore_service.converge(
        backup, inventory, request, check_mode=module.check_mode, progress=module.log), requires=("restore",))


if __name__ == "__main__":
    main()
