#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vm_backup_run
short_description: Back up VMs now with IBM Storage Protect Plus, wait, and report each VM's recovery point
version_added: 0.1.0
description:
  - Runs an on-demand backup of VMs, or of every VM of an SLA policy, on an IBM Storage Protect Plus (SPP) server, and
    waits for it to end (unless O(wait=false)).
  - With O(vms), sends one ad hoc backup per SLA policy, grouping the VMs by the policy each one is backed up with
    (O(policy), or else the VM's first VM-level policy in name order that is not held). With O(policy) alone, starts
    that policy's job (C(vmware_<policy>)), which backs up every VM and disk the policy protects.
  - "Pre-flight, for every target before anything starts, through vCenter and SPP: the VM exists in vCenter and is
    known to the backup server; it has a usable policy (O(policy) must be one of its policies; a VM whose policies
    are all held is refused); and a VM that has never been backed up has no snapshot, since its first backup would
    fail. One error lists every refused VM with how to fix it, and then no backup is started. The module never
    deletes a snapshot."
  - While waiting, each poll is logged (status and percentage of each session) and kept in RV(progress). A wait that
    runs out fails the task with a message that names the sessions still running, with their status and percentage,
    and says that the job keeps running on the server; it never reports a failure that did not happen.
  - The result gives, per VM, the outcome, the recovery point made (id and time), the consistency reached
    (application- or crash-consistent), the disks that snapshots do not capture (independent and RDM disks) and the
    log lines about it; and, for the run, the sessions with their status and duration and the WARN and ERROR log lines.
  - When a VM's backup fails, the task fails with a message naming each failed VM with its ERROR log line, and still
    returns the per-VM results.
  - With O(backup_service=cloudtemple), runs whole policies only and infers each VM's outcome from its session; see
    O(whole_policy) and the notes.
author:
  - sovereign.vm_backup maintainers (@sovereign-cloud)
extends_documentation_fragment:
  - sovereign.vm_backup.connection.spp
  - sovereign.vm_backup.connection.vcenter
  - sovereign.vm_backup.attributes
attributes:
  check_mode:
    support: full
    details: Check mode reads both servers, runs every pre-flight check and returns the plan (RV(plan), which session
      would start for which VMs) without starting anything. C(changed) is true when a backup would run.
  diff_mode:
    support: none
  idempotent:
    support: none
    details: A backup is an action, so each run makes new recovery points and reports a change. With
      O(skip_if_backed_up_within), a run where every target already has a recovery point that recent starts nothing
      and reports no change.
  action_group:
    support: full
    membership:
      - sovereign.vm_backup.all
options:
  vms:
    description:
      - The VMs to back up, each by name, moref (C(vm-42)) or instance UUID. A name several VMs share is refused, as is
        a name that is another VM's moref or instance UUID (a VM named C(vm-42)); name such a VM by moref or instance
        UUID.
      - At least one of O(vms) and O(policy) is required.
    type: list
    elements: str
  policy:
    description:
      - The SLA policy to back up with.
      - With O(vms), every VM is backed up with this policy, which must be one of its policies (at VM level, or on one
        of its disks, in which case only those disks are captured).
      - Without O(vms), the policy's job runs for every VM and disk the policy protects.
      - A held policy is refused.
    type: str
  wait:
    description:
      - Wait for the backup sessions to end and report each VM's outcome and recovery point.
      - With V(false), the module returns once the sessions have started, with every VM's outcome V(running).
    type: bool
    default: true
  timeout:
    description:
      - How many seconds to wait, in all, for the sessions to end. When they outlast it, the task fails with the
        session ids to follow; the backup itself goes on on the server.
      - From 1 to 604800 (a week). A value outside is refused before any call.
    type: int
    default: 3600
  poll_interval:
    description:
      - Seconds between two reads of the running sessions.
      - From 1 to 3600. A value outside is refused before any call.
    type: int
    default: 5
  if_running:
    description:
      - What to do when the SLA policy's job is already running (SPP runs one session of a job at a time).
      - V(wait) follows the running session until it ends. VMs that it did not back up then get a backup of their own.
      - V(fail) refuses; when the running job is seen during pre-flight, nothing is started.
    type: str
    choices: [wait, fail]
    default: wait
  skip_if_backed_up_within:
    description:
      - Do not back up a VM whose newest recovery point is this recent, for example V(30m), V(4h), V(1d) or V(1h30m)
        (units C(s), C(m), C(h), C(d), C(w)), longer than 0. Such a VM is reported as V(skipped), with that recovery
        point.
      - When every target is that recent, nothing runs and C(changed) is false. When only some are, only the others
        are backed up (with O(backup_service=cloudtemple), a policy whose VMs are not all that recent runs its whole
        job, which backs them all up).
    type: str
  whole_policy:
    description:
      - Confirms that backing up the VMs of O(vms) may back up the other VMs of their policies too, on a backup service
        that runs a policy's whole job only.
      - "With O(backup_service=cloudtemple), the console API has no backup of chosen VMs: its job run takes a job and
        no VM list (docs/cloudtemple-api.md sections 10.2 and 14). Each VM is backed up by running the whole job of
        the policy it is backed up with, which backs up every VM and disk that policy protects. Without
        O(whole_policy=true), a task whose policies protect VMs it does not name fails before anything starts, listing
        those VMs per policy; with it, the run goes ahead, RV(scope) is V(policy), RV(plan[].covers) names every VM
        each run backs up, and a warning says so. A task whose VMs are all the VMs of their policies needs no
        confirmation."
      - No effect with O(backup_service=spp), which backs up the named VMs alone.
    type: bool
    default: false
notes:
  - The time of each VM's newest recovery point comes from the backup server's VM listing, so the skip test and the
    first-backup test need no per-VM call. After the run, the module reads the newest recovery point of each VM that
    may have a new one, because the listing does not carry its id, session or consistency; eight at a time, and for
    more than 16 VMs only after one search of the recovery catalogue has left out the VMs without a new point.
  - With O(policy) alone, VMs of that policy that belong to another vCenter registered on the same backup server are
    backed up by the job too, but they are neither checked nor reported per VM; their log lines are in RV(log).
  - "Attaching to a running job (O(if_running=wait)) cannot tell in advance whether that run includes the task's VMs:
    after it ends, the VMs it did not back up get an ad hoc backup of their own."
  - "With O(backup_service=cloudtemple) (Cloud Temple's console API; docs/cloudtemple-api.md in the collection):
    runs each policy's job (C(POST /api/backup/v1/spp/jobs/run)), follows it to the end through the console's
    session list, and reports what the console can tell. The console runs B(whole policies only) (see
    O(whole_policy)). It gives no job log and no recovery point (sections 10.3 and 14), so each VM's outcome is
    its session's, inferred from the session's status and counts: C(COMPLETED) with no failed VM gives V(success),
    C(FAILED) gives V(failed), C(PARTIAL) gives V(unknown) with a warning (the console does not say which VMs
    failed). RV(vms[].outcome_source) is then V(session_status_inferred); RV(vms[].recovery_point),
    RV(vms[].consistency) and RV(log) are empty. The time O(skip_if_backed_up_within) compares is the start of the
    newest completed session of the VM's policies (inferred: a VM assigned after that session counts as backed up by
    it). Attaching to a running job of the policy (O(if_running=wait)) covers every VM of the policy. The pre-flight
    checks are the same as with SPP."
  - "With O(backup_service=cloudtemple) and no C(vcenter_*) options, the VMs come from the console's compute API:
    a VM's instance UUID in O(vms) and RV(vms[].spp_id) is the console's id of the VM."
seealso:
  - module: sovereign.vm_backup.vm_backup_policy
  - module: sovereign.vm_backup.backup_inventory
"""

EXAMPLES = r"""
- name: Back up two VMs now and wait for their recovery points
  sovereign.vm_backup.vm_backup_run:
    vms:
      - web01
      - db01
  register: backup

- name: Show the recovery point of each VM
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.outcome }} {{ item.recovery_point.time_iso | default('-') }} ({{ item.consistency }})"
  loop: "{{ backup.vms }}"

- name: Run the whole Gold policy, unless every VM of it has a recovery point of the last 4 hours
  sovereign.vm_backup.vm_backup_run:
    policy: Gold
    skip_if_backed_up_within: 4h
    timeout: 7200

- name: Start the backup of a VM with a given policy and do not wait for it
  sovereign.vm_backup.vm_backup_run:
    vms: [batch01]
    policy: Silver
    wait: false
  register: started

- name: Refuse to pile up behind a run of the job that is already going
  sovereign.vm_backup.vm_backup_run:
    vms: [app01]
    if_running: fail
"""

RETURN = r"""
scope:
  description:
    - V(policy) when a run backs up a policy's whole job (O(policy) alone, or O(whole_policy=true) on a backup service
      that runs whole policies only), V(vms) when the runs back up the named VMs only.
  returned: always
  type: str
  sample: vms
plan:
  description: The sessions this run starts (or, in check mode, would start), one per SLA policy.
  returned: always
  type: list
  elements: dict
  contains:
    policy:
      description: The SLA policy.
      type: str
    job:
      description: The policy's job, C(vmware_<policy>) on SPP.
      type: str
    action:
      description: C(adhoc) (an ad hoc backup of the listed VMs) or C(start_job) (the policy's job, for all its VMs).
      type: str
    scope:
      description: V(policy) for C(start_job) (every VM of the policy), V(vms) for C(adhoc).
      type: str
    vms:
      description: Names of the task's VMs in this run.
      type: list
      elements: str
    covers:
      description: Names of every VM this run backs up that the inventory shows, the VMs of the policy that the task
        did not name included (C(start_job)).
      type: list
      elements: str
    running_session:
      description: The session of the job that was running when the plan was made, else null.
      type: str
  sample: [{"policy": "Gold", "job": "vmware_Gold", "action": "adhoc", "scope": "vms", "vms": ["web01", "db01"],
            "covers": ["db01", "web01"], "running_session": null}]
sessions:
  description: The SPP job sessions of the run.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The job session id, to follow in SPP.
      type: str
    policy:
      description: The SLA policy.
      type: str
    job:
      description: The job name.
      type: str
    started:
      description: True when this task started the session; false when it followed a run that was already going.
      type: bool
    status:
      description: The session status, for example C(COMPLETED), C(PARTIAL), C(FAILED) or C(RUNNING).
      type: str
    percent:
      description: The session's progress in percent.
      type: int
    duration_ms:
      description: The session's duration in milliseconds.
      type: int
  sample: [{"id": "1767650400123", "policy": "Gold", "job": "vmware_Gold", "started": true, "status": "COMPLETED",
            "percent": 100, "duration_ms": 2540}]
vms:
  description: One entry per target VM, in the order of O(vms) (by name with O(policy) alone).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: VM name.
      type: str
    moref:
      description: vCenter managed object id.
      type: str
    spp_id:
      description: The backup server's id of the VM.
      type: str
    policy:
      description: The SLA policy it was backed up with.
      type: str
    outcome:
      description:
        - V(success), V(failed), V(skipped) (a recent recovery point exists, or nothing of it could be captured) or
          V(running) (O(wait=false), or the wait ran out).
        - V(unknown) when the backup service cannot tell (O(backup_service=cloudtemple), a C(PARTIAL) session).
        - V(planned) in check mode.
      type: str
    outcome_source:
      description:
        - "What decided the outcome. V(recovery_point) (the point the session made for the VM), V(job_log) (the
          session's log lines about the VM), V(session_status) (the session's status, with neither),
          V(session_status_inferred) (the session's status and counts, the same for every VM of the session, from a
          backup service without per-VM results), V(last_backup) or V(last_backup_inferred) (skipped for a recent
          backup; inferred from the policies' job sessions), or null (planned or running)."
      type: str
    session_id:
      description: The job session that backed it up (for a skipped VM, the one that made its recent point).
      type: str
    recovery_point:
      description: The recovery point made (for a skipped VM, the recent one), with C(id), C(time) (epoch ms) and
        C(time_iso); null when none.
      type: dict
    consistency:
      description: C(application) (quiesced snapshot) or C(crash); null when unknown.
      type: str
    not_captured_disks:
      description: Labels of its disks that the backup does not capture (independent and RDM disks, and, for a
        disk-level policy, the disks without it). They are not protected.
      type: list
      elements: str
    messages:
      description: Log lines about this VM, as C(TYPE MESSAGE-ID) followed by the text, and notes of the module.
      type: list
      elements: str
  sample: [{"name": "web01", "moref": "vm-42", "spp_id": "4f0c...", "policy": "Gold", "outcome": "success",
            "session_id": "1767650400123", "recovery_point": {"id": "1767650402001", "time": 1767650402001,
            "time_iso": "2026-01-05T21:00:02Z"}, "consistency": "application", "not_captured_disks": [],
            "messages": [], "outcome_source": "recovery_point"}]
log:
  description: The WARN and ERROR log lines of the sessions, in time order.
  returned: always
  type: list
  elements: dict
  contains:
    session_id:
      description: The job session.
      type: str
    time:
      description: Epoch milliseconds.
      type: int
    time_iso:
      description: The same time in ISO 8601, UTC.
      type: str
    type:
      description: C(WARN) or C(ERROR).
      type: str
    message_id:
      description: SPP message id, for example C(CTGGA2384).
      type: str
    message:
      description: The text.
      type: str
progress:
  description: The progress lines seen while waiting (status and percentage of each session), without repeats.
  returned: always
  type: list
  elements: str
  sample: ["SPP job session 1767650400123 (job 'vmware_Gold') is RUNNING at 40%"]
duration_seconds:
  description: How long the task took, in seconds.
  returned: always
  type: float
running_sessions:
  description: When the wait ran out, the ids of the sessions still running on the server.
  returned: failure
  type: list
  elements: str
violations:
  description: When pre-flight refused targets, one entry per problem, with C(rule), C(vm), C(reason) and C(fix) (and
    C(moref) when the VM exists in vCenter). Nothing was started.
  returned: failure
  type: list
  elements: dict
  sample: [{"rule": "first_backup_with_snapshots", "vm": "db01", "moref": "vm-43", "reason": "it has never been backed
            up and has snapshots: its first backup would fail.", "fix": "Delete or consolidate its snapshots in vCenter
            (this module never deletes a snapshot), then run again."}]
"""

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _arguments, _module
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import backup_run as backup_run_service


def main():
    module = _module.connected_module(
        dict(
            vms=dict(type="list", elements="str"),
            policy=dict(type="str"),
            wait=dict(type="bool", default=True),
            timeout=dict(type="int", default=3600),
            poll_interval=dict(type="int", default=5),
            if_running=dict(type="str", choices=["wait", "fail"], default="wait"),
            skip_if_backed_up_within=dict(type="str"),
            whole_policy=dict(type="bool", default=False),
        ),
        required_one_of=[("vms", "policy")],
        supports_check_mode=True,
        ranges={"timeout": _arguments.WAIT_SECONDS, "poll_interval": _arguments.POLL_SECONDS},
        durations=("skip_if_backed_up_within",),
    )
    params = module.params

    _module.run_with_seams(module, lambda backup, inventory: backup_run_service.run_backup(
        backup, inventory, vms=params["vms"], policy=params["policy"], wait=params["wait"], timeout=params["timeout"],
        poll_interval=params["poll_interval"], if_running=params["if_running"],
        skip_if_backed_up_within=params["skip_if_backed_up_within"], check_mode=module.check_mode,
        progress=module.log, whole_policy=params["whole_policy"]))


if __name__ == "__main__":
    main()
