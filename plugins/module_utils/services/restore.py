# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service behind ``vm_restore``: resolve the source and the recovery point, plan, then restore and follow up.

Considered private: only this collection may import it. The first half is pure (parsing, source resolution, marker
matching, the plan); ``converge`` does the I/O. Reads: one PropertyCollector pass over vCenter's VMs with their
restore markers, the registered hypervisors, a search of the backup server's recovery view for the VM, the VM's
versions, and (when no marker settles the question) the restore job sessions of the last 24 hours. Writes: at most
one restore POST, one test-restore action, and the marker.

Idempotence rests on two records (plus, for ``restore_test``, a third):

* the **marker** on the restored VM (``vsphere.vms``): source, recovery point, mode, session and lifecycle state.
  A run that finds a VM whose marker matches changes nothing;
* the **restore job sessions** of the backup server, whose ``postRestoreInfo`` names the VMs they restored. Before
  posting a restore, a run looks for a session of the same source, point and mode (a run whose POST answer was lost,
  or one that stopped waiting) and follows it instead of starting a second restore;
* the **test record** (``vsphere.vms.TEST_FIELD``) on the VM whose backup was tested: the recovery point tested, the
  result, when, and the test VM's name. ``test_result`` writes it (after a clean-up, or after a promotion, where it
  goes on the promoted VM, which now carries the source's name and instance UUID, so it is the source of the next
  test); ``skip_if_tested`` reads it from the source's current VM and changes nothing when that point passed.

The backup server's inventory is not rescanned after a restore: test-restore actions go through the restore session,
not the inventory. A VM restored in production (or promoted) has a new moref, so the backup server sees it as a new
VM, without policies, at its next inventory; ``vm_backup_policy`` with ``rescan: true`` re-protects it, and the result
says so in a warning.
"""

from __future__ import annotations

import datetime
import time

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _time
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
    ApiError,
    ConnectionFailure,
    InvalidRequest,
    NotFound,
    RuleViolation,
    TaskFailed,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import restore as spp_restore
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import versions as spp_versions
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp.answers import nested_get
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import vms as vsphere_vms
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.log_mentions import mentions_any

MODES = ("test", "clone", "production")
STATES = ("present", "promoted", "cloned", "absent")
TEST_ONLY_STATES = ("promoted", "cloned", "absent")
# What each wanted state asks of the restored VM's lifecycle, and the session action that gets it there.
ACTIONS = {"promoted": "rrp", "cloned": "clone"}
SESSION_LOOKBACK_MS = 24 * 3600 * 1000
# After a lost restore answer, how long to look for the session it may have started.
FIND_AFTER_LOSS_SECONDS = 60
# How long to wait for a just-started restore session to say which VM it restores.
DECIDE_SECONDS = 60
POLL_SECONDS = 2.0


# -- pure: options ------------------------------------------------------------------------------------------------


def parse_time(value, option="recovery_point.before"):
    """Epoch milliseconds from an integer (epoch ms) or an ISO 8601 time (naive means UTC). Pure."""
    if isinstance(value, bool):
        raise InvalidRequest("%s must be a time, got %r" % (option, value))
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        when = datetime.datetime.fromisoformat(iso.replace(" ", "T", 1) if "T" not in iso else iso)
    except ValueError:
        raise InvalidRequest("%s must be an ISO 8601 time such as 2026-01-31T22:00:00Z, or epoch milliseconds; got %r"
                             % (option, value)) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return int(when.timestamp() * 1000)


def iso_time(epoch_ms):
    """``2026-01-31T22:00:00.000Z``: recovery points are told apart to the millisecond. Pure."""
    return _time.iso_time(epoch_ms, milliseconds=True)


def parse_recovery_point(value):
    """``recovery_point`` -> None (not given), ``"latest"``, a version id, or ``{"before": epoch_ms}``. Pure."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        if set(value) != {"before"}:
            raise InvalidRequest("recovery_point as a dict takes one key, before (a time), got %s"
                                 % ", ".join(sorted(str(key) for key in value)))
        return {"before": parse_time(value["before"])}
    if isinstance(value, (list, bool)):
        raise InvalidRequest("recovery_point must be latest, a recovery point id or {before: <time>}, got %r" % value)
    text = str(value).strip()
    return "latest" if text.lower() == "latest" else text


def check_request(request):
    """Option combinations the argument spec cannot express; raises ``InvalidRequest``. Pure."""
    mode, state = request["mode"], request["state"]
    problems = []
    if state in TEST_ONLY_STATES and mode != "test":
        problems.append("state %s applies to test restores only (mode: test), not to mode %s" % (state, mode))
    if mode == "production" and request.get("name"):
        problems.append("a production restore keeps the original name; name applies to modes test and clone (to "
                        "keep the current VM as <name>_OLD, use keep_current: true)")
    if request.get("keep_current") and mode != "production":
        problems.append("keep_current applies to production restores only (mode: production)")
    if request.get("keep_current") and request.get("overwrite"):
        problems.append("keep_current and overwrite exclude each other: keep the current VM as <name>_OLD, or "
                        "destroy it")
    if request.get("host") and request.get("cluster"):
        problems.append("host and cluster are mutually exclusive")
    if request.get("test_result") and (mode != "test" or state not in ("absent", "promoted")):
        problems.append("test_result records the outcome of a test restore: it applies to mode test with state absent "
                        "(after the clean-up) or promoted")
    if request.get("skip_if_tested") and (mode != "test" or state != "present"):
        problems.append("skip_if_tested applies to mode test with state present")
    if problems:
        raise InvalidRequest("; ".join(problems) + "; nothing was changed", problems=problems)


# -- pure: the source VM and its recovery points ------------------------------------------------------------------


def spp_identity(spp_vm):
    """``(moref, instance_uuid)`` of a VM object of the backup server."""
    moref = nested_get(spp_vm, "nativeObject", "mor", "val")
    instance_uuid = nested_get(spp_vm, "config", "instanceUuid") or nested_get(spp_vm, "nativeObject", "instanceUuid")
    return moref, instance_uuid


def _matches_ref(spp_vm, ref):
    moref, instance_uuid = spp_identity(spp_vm)
    return ref in (spp_vm.get("name"), moref, instance_uuid, spp_vm.get("id"))


def resolve_source(ref, vcenter_vms, recovery):
    """The VM whose recovery points to use, from the task's ``vm`` (name, moref or instance UUID). Pure.

    ``vcenter_vms`` come from ``vms.list_vms_with_markers``; ``recovery`` are VM objects of the backup server's
    recovery view (deleted VMs included). Records of the backup server sharing an instance UUID are one VM's
    lineage: a production restore gives the VM a new moref, hence a new record, but keeps its instance UUID.
    Returns ``{"name", "instance_uuid", "records", "current"}``: ``records`` are the lineage's SPP VM objects,
    ``current`` the vCenter VM a production restore (or a promotion) would replace, or None.
    """
    live = [vm for vm in vcenter_vms if not vm.get("template") and ref in (vm["name"], vm["moref"], vm["instance_uuid"])]
    if len(live) > 1:
        raise InvalidRequest("%d VMs in vCenter match %s (%s); name the VM by moref or instance UUID"
                             % (len(live), ref, ", ".join(sorted(vm["moref"] for vm in live))))
    named = live[0] if live else None
    # A VM this collection restored names its source in its marker: after a keep_current restore or a
    # promotion the VM has a new identity, and its recovery points are still those of the source.
    marked_source = ((named or {}).get("marker") or {}).get("source") or {}
    candidates = []
    for spp_vm in recovery:
        moref, instance_uuid = spp_identity(spp_vm)
        same_vm = named is not None and (moref == named["moref"] or (instance_uuid and
                                                                     instance_uuid == named["instance_uuid"]))
        from_marker = bool(marked_source) and (str(spp_vm.get("id")) == str(marked_source.get("spp_id")) or (
            instance_uuid and instance_uuid == marked_source.get("instance_uuid")))
        if same_vm or from_marker or _matches_ref(spp_vm, ref):
            candidates.append(spp_vm)
    if not candidates:
        raise NotFound(None, description="the backup server has no recovery point of VM %s; back it up first "
                                         "(vm_backup_run), or name it as the backup server knows it" % ref)
    groups = {}
    for spp_vm in candidates:
        groups.setdefault(spp_identity(spp_vm)[1] or spp_vm.get("id"), []).append(spp_vm)
    chosen = None
    if named is not None:
        chosen = groups.get(named["instance_uuid"]) or groups.get(marked_source.get("instance_uuid")) or next(
            (group for group in groups.values() if any(spp_identity(r)[0] == named["moref"] for r in group)), None)
    if chosen is None and len(groups) == 1:
        chosen = next(iter(groups.values()))
    if chosen is None:
        described = ["%s (instance UUID %s, last backup %s)" % (
            group[0].get("name"), key, iso_time(max(spp_answers.last_protection_time(r) or 0 for r in group)))
            for key, group in sorted(groups.items(), key=lambda item: str(item[0]))]
        raise InvalidRequest("%d different VMs with recovery points match %s: %s. Name the one to restore by its "
                             "instance UUID" % (len(groups), ref, "; ".join(described)))
    records = sorted(chosen, key=lambda r: spp_answers.last_protection_time(r) or 0, reverse=True)
    instance_uuid = spp_identity(records[0])[1]
    morefs = {spp_identity(r)[0] for r in records}
    current = None
    name = records[0].get("name")
    restored_from_lineage = bool(marked_source) and (
        marked_source.get("instance_uuid") == instance_uuid or str(marked_source.get("spp_id")) in {
            str(r.get("id")) for r in records})
    if restored_from_lineage:
        # The named VM is this lineage's restored VM: it is the production VM now, under the name the user gave;
        # the backup server may list the previous one under its new name (<name>_OLD).
        current, name = named, named["name"]
    elif named is not None and (named["moref"] in morefs or (instance_uuid and named["instance_uuid"] == instance_uuid)):
        current = named
    else:
        same = [vm for vm in vcenter_vms if not vm.get("template")
                and (vm["moref"] in morefs or (instance_uuid and vm["instance_uuid"] == instance_uuid))]
        same.sort(key=lambda vm: vm["moref"] not in morefs)
        current = same[0] if same else None
    return {"name": name, "instance_uuid": instance_uuid, "records": records, "current": current,
            "ids": sorted({str(r.get("id")) for r in records})}


def merge_versions(versions_by_record):
    """``[(spp_vm, version), ...]`` of every record's versions, newest first. Pure."""
    pairs = [(spp_vm, version) for spp_vm, versions in versions_by_record for version in versions]
    return sorted(pairs, key=lambda pair: spp_answers.protection_time(pair[1]), reverse=True)


def choose_point(pairs, point):
    """``(spp_vm, version)`` for ``point`` (``latest``, an id or ``{"before": ms}``) among ``merge_versions``."""
    version = spp_answers.choose_version([v for _spp_vm, v in pairs], point)
    return next((spp_vm, v) for spp_vm, v in pairs if v is version)


def point_summary(version, copy=None, kind=None):
    """What the result says of a recovery point. Pure."""
    when = spp_answers.protection_time(version) or None
    return {"id": str(version.get("id")), "time": when, "time_iso": iso_time(when),
            "copy_kind": kind if copy is not None else None, "copy_id": str(copy.get("id")) if copy is not None else None,
            "policy": nested_get(version, "protectionInfo", "storageProfileName"),
            "session_id": str(version["sessionId"]) if version.get("sessionId") else None, "session_status": None}


# -- pure: markers, sessions and the plan -------------------------------------------------------------------------


def new_marker(source, point, mode, session_id, state, kept=None):
    """The marker dict for a VM restored from ``point`` of ``source`` (moref is added when it is written). Pure.

    ``kept`` records the VM that a production restore with ``keep_current`` kept (``{"name", "moref"}``).
    """
    marker = {
        "source": {"name": source["name"], "instance_uuid": source["instance_uuid"],
                   "spp_id": source["spp_id"]},
        "recovery_point": {"id": point["id"], "time": point["time"]},
        "mode": mode,
        "session_id": str(session_id) if session_id is not None else None,
        "state": state,
    }
    if kept:
        marker["kept"] = {"name": kept.get("to") or kept.get("name"), "moref": kept.get("moref")}
    return marker


def new_test_record(point, result, when_ms, test_vm):
    """The test record of ``point`` (a ``point_summary``) that ended ``result`` (passed or failed). Pure."""
    return {"recovery_point": {"id": point["id"], "time": point["time"], "time_iso": point.get("time_iso")},
            "result": result, "when": iso_time(when_ms), "test_vm": test_vm}


def same_test_record(old, new):
    """Whether ``old`` already records ``new`` (same point, result and test VM; ``when`` is not compared). Pure."""
    if not old:
        return False
    return (str((old.get("recovery_point") or {}).get("id")) == str(new["recovery_point"]["id"])
            and old.get("result") == new["result"] and old.get("test_vm") == new["test_vm"])


def passed_test(record, point_id):
    """Whether the test record says that the recovery point ``point_id`` passed its test. Pure."""
    return bool(record) and record.get("result") == "passed" and str(
        (record.get("recovery_point") or {}).get("id")) == str(point_id)


def public_test_record(record):
    """The test record as results show it (without the format fields). Pure."""
    if not record:
        return None
    return {key: value for key, value in record.items() if key not in ("v", "moref")}


def marker_matches(marker, source_ids, instance_uuid, point_id=None, mode=None, states=None):
    """Whether a marker records a restore of this source (and point, mode, lifecycle states when given). Pure."""
    if not marker:
        return False
    origin = marker.get("source") or {}
    if str(origin.get("spp_id")) not in source_ids and not (instance_uuid and origin.get("instance_uuid") ==
                                                            instance_uuid):
        return False
    if point_id is not None and str((marker.get("recovery_point") or {}).get("id")) != str(point_id):
        return False
    if mode is not None and marker.get("mode") != mode:
        return False
    return states is None or marker.get("state") in states


def expected_name(state, target_name, source_name):
    """The name a restored VM has in a lifecycle state: a promoted test VM took the source's name. Pure."""
    return source_name if state == "promoted" else target_name


def marked_vms(vcenter_vms, source, point_id=None, mode=None, states=None, name=None, target_name=None):
    """vCenter VMs whose own marker matches, sorted by name. Pure.

    ``name`` keeps the VMs of that name; ``target_name`` the VMs named as the restore names them in their marker's
    state (a restore under another name is another restore).
    """
    found = []
    for vm in vcenter_vms:
        marker = vm.get("marker")
        if not marker_matches(marker, source["ids"], source["instance_uuid"], point_id, mode, states):
            continue
        if name is not None and vm["name"] != name:
            continue
        if target_name is not None and vm["name"] != expected_name(marker.get("state"), target_name, source["name"]):
            continue
        found.append(vm)
    return sorted(found, key=lambda vm: (vm["name"] or "", vm["moref"]))


def classify_sessions(sessions, source, point_id, api_mode, logs_of=None, target_name=None):
    """Sort restore sessions for this source, point and mode into ``(matches, undecided)``. Pure with ``logs_of``.

    ``matches`` are ``(session, entry)`` pairs: ``entry`` is the session's ``postRestoreInfo`` entry for this
    restore, or None for a running session whose logs name the source VM (it may be restoring it right now).
    ``undecided`` are running sessions that say nothing yet (no entry, no log line). ``logs_of(session)`` returns a
    session's log entries; without it, running sessions without entries are undecided. ``target_name`` keeps the
    entries that restored under that name (see ``expected_name``).
    """
    matches, undecided = [], []
    names = {r.get("name") for r in source["records"]}
    for session in sessions:
        entry = spp_answers.find_entry(session, source["ids"], point_id, api_mode)
        if entry is not None and target_name is not None and entry.get("name") != expected_name(
                spp_answers.entry_state(entry), target_name, source["name"]):
            continue
        live = spp_answers.session_status(session) in spp_answers.ACTIVE_STATUSES
        if entry is not None:
            matches.append((session, entry))
        elif live and not spp_answers.restore_entries(session):
            logs = logs_of(session) if logs_of is not None else []
            if mentions_any(logs, names):
                matches.append((session, None))
            elif not logs:
                undecided.append(session)
    return matches, undecided


def usable_match(matches, vcenter_by_moref, mode):
    """The session to follow instead of posting a restore, or None. Pure.

    A running session is followed. A settled one is adopted when the VM it restored is still in vCenter and still
    in the restore's lifecycle (a test restore whose session is still ``RESOURCE ACTIVE``, or a later state).
    """
    for session, entry in reversed(matches):  # newest first
        status = spp_answers.session_status(session)
        if status in spp_answers.ACTIVE_STATUSES:
            return session, entry
        if entry is None or spp_answers.entry_state(entry) == "absent":
            continue
        if entry.get("moref") not in vcenter_by_moref:
            continue
        if mode == "test" and spp_answers.entry_state(entry) == "restored" and status != spp_answers.RESOURCE_ACTIVE:
            continue
        if mode != "test" and status not in spp_answers.SUCCESS_STATUSES:
            continue
        return session, entry
    return None


def _describe_vm(vm):
    return "%s (%s)" % (vm["name"], vm["moref"])


def plan_restore(request, source, point, target_name, marked, follow, name_holder):
    """The steps for mode test/clone/production with state present/promoted/cloned. Pure.

    ``marked``: the VM whose marker records this restore (or None); ``follow``: ``(session, entry)`` of an existing
    restore session to follow (or None); ``name_holder``: another vCenter VM that already has ``target_name`` (not
    the current VM, which a production restore replaces or, with ``keep_current``, renames).
    Raises ``RuleViolation`` for a production restore over an existing VM without ``overwrite``, and
    ``InvalidRequest`` for the other refusals; nothing has been sent at that point.
    """
    mode, wanted = request["mode"], request["state"]
    current = source["current"]
    have = None
    via = None
    if marked is not None:
        have = marked["marker"].get("state")
    elif follow is not None:
        via = "follow"
        have = spp_answers.entry_state(follow[1]) if follow[1] is not None else None
    steps = []
    destroys = []
    renames = []
    if have is None and via is None:
        via = "post"
        _check_restore_allowed(request, source, target_name, name_holder)
        if mode == "production" and current is not None and not request.get("keep_current"):
            destroys.append(current)
    if have is None and mode == "production" and current is not None and request.get("keep_current"):
        renames.append({"name": current["name"], "moref": current["moref"], "to": kept_name(source)})
    if renames and renames[0]["name"] != renames[0]["to"]:
        steps.append("rename_current")
    if via is not None:
        steps.append("restore")
    if renames and current.get("power_state") == "poweredOn":
        steps.append("power_off_current")
    if wanted in ACTIONS:
        other = "cloned" if wanted == "promoted" else "promoted"
        if have == other:
            raise InvalidRequest("the test restore of %s from %s was already %s (VM %s); it cannot be %s as well"
                                 % (source["name"], point["time_iso"], other, (marked or {}).get("name", "?"), wanted))
        if have != wanted:
            steps.append(ACTIONS[wanted])
            if wanted == "promoted" and current is not None:
                destroys.append(current)
    if steps or marked is None:
        steps.append("mark")
    return {"steps": steps, "via": via, "destroys": [{"name": vm["name"], "moref": vm["moref"],
                                                      "instance_uuid": vm["instance_uuid"]} for vm in destroys],
            "renames": renames, "spp_mode": spp_mode(request, source), "changed": bool(steps)}


def kept_name(source):
    """Name under which ``keep_current`` keeps the current VM. Pure."""
    return "%s_OLD" % source["name"]


def spp_mode(request, source):
    """The restore mode sent to SPP. Pure.

    A production restore that keeps the current VM is an SPP clone under the original name (the seeds' recipe:
    clone, then give it the production name): an SPP production restore would destroy the VM it recorded.
    """
    if request["mode"] == "production" and request.get("keep_current") and source["current"] is not None:
        return "clone"
    return request["mode"]


def _check_restore_allowed(request, source, target_name, name_holder):
    mode = request["mode"]
    current = source["current"]
    if mode == "production" and request.get("keep_current") and current is not None:
        if name_holder is not None:
            raise InvalidRequest("VM %s already has the name %s; keeping the current VM %s as %s needs that name "
                                 "free: rename or remove it first"
                                 % (_describe_vm(name_holder), target_name, current["name"], kept_name(source)))
        return
    if mode == "production":
        if current is not None and not request.get("overwrite"):
            raise RuleViolation([{
                "rule": "production_restore_overwrites",
                "vm": _describe_vm(current),
                "reason": "a production restore destroys the current VM %s and puts the restored one in its place; "
                          "overwrite is false." % current["name"],
                "fix": "set overwrite: true to replace it; or keep it, renamed %s and powered off, with keep_current: "
                       "true (the restored VM then gets a new UUID and new MAC addresses); or restore next to it with "
                       "mode: clone." % kept_name(source),
            }])
        morefs = {spp_identity(r)[0] for r in source["records"]}
        if current is not None and current["moref"] not in morefs:
            raise InvalidRequest(
                "VM %s in vCenter is not the VM the backup server recorded (moref %s, recorded %s): a production "
                "restore would create a second VM named %s instead of replacing it. Run the inventory "
                "(backup_inventory rescan: true) and restore from a recovery point of the current VM, or use mode "
                "clone" % (current["name"], current["moref"], ", ".join(sorted(m for m in morefs if m)),
                           current["name"]))
        if name_holder is not None:
            raise InvalidRequest("a production restore of %s would create a second VM named %s next to %s; rename "
                                 "or remove that VM first" % (source["name"], target_name, _describe_vm(name_holder)))
        return
    if name_holder is not None:
        other = name_holder.get("marker")
        what = ""
        if other:
            what = " (a %s restore of %s from %s, now %s)" % (
                other.get("mode"), (other.get("source") or {}).get("name"),
                iso_time((other.get("recovery_point") or {}).get("time")), other.get("state"))
        raise InvalidRequest("VM %s already exists in vCenter%s; a %s restore cannot take its name. Give another "
                             "name, or remove that VM first (for a test restore: state: absent)"
                             % (_describe_vm(name_holder), what, mode))


# -- I/O ----------------------------------------------------------------------------------------------------------


class _Run:
    """One task's clients, deadline, options and progress."""

    def __init__(self, spp, vsphere, request, check_mode, progress, clock, wall, sleep):
        self.spp = spp
        self.vsphere = vsphere
        self.request = request
        self.check_mode = check_mode
        self.log = progress or (lambda message: None)
        self.clock = clock
        self.wall = wall
        self.sleep = sleep
        self.deadline = clock() + request["timeout"]
        self.warnings = []
        # Restore sessions listed before posting: a session that shows up after a lost answer is not among them.
        self.seen_sessions = set()

    def remaining(self):
        return max(1, int(self.deadline - self.clock()))

    def session_progress(self, session):
        self.log(spp_answers.describe_session(session))

    def wait(self, session_id, settle_on_resource_active):
        try:
            return spp_jobs.wait_for_session(self.spp, session_id, timeout=self.remaining(), poll=POLL_SECONDS,
                                             progress=self.session_progress,
                                             settle_on_resource_active=settle_on_resource_active)
        except WaitTimeout as error:
            raise WaitTimeout("%s. Running this task again follows session %s instead of starting another restore"
                              % (error.message.rstrip("."), session_id), **error.details) from None


def _now_ms(run):
    return int(run.wall() * 1000)


def _read_source(run):
    """vCenter VMs, the hypervisors of this vCenter, and the resolved source VM."""
    request = run.request
    vcenter_vms = vsphere_vms.list_vms_with_markers(run.vsphere)
    hypervisors = spp_listing.list_hypervisors(run.spp)
    ours = {h.get("id") for h in hypervisors if h.get("uniqueId") == run.vsphere.instance_uuid}
    if not ours:
        raise InvalidRequest("this vCenter (instance UUID %s) is not registered on the backup server; register it "
                             "first" % run.vsphere.instance_uuid)
    ref = request["vm"]
    names = {ref} | {vm["name"] for vm in vcenter_vms if ref in (vm["moref"], vm["instance_uuid"])}
    recovery = spp_restore.recovery_vms(run.spp, sorted(names), ours)
    try:
        source = resolve_source(ref, vcenter_vms, recovery)
    except NotFound:
        # Named by moref or UUID, or renamed since its backups: look through the whole recovery view once.
        source = resolve_source(ref, vcenter_vms, spp_restore.recovery_vms(run.spp, (), ours))
    source["hypervisor_id"] = source["records"][0].get("hypervisorKey") or sorted(ours)[0]
    return vcenter_vms, source


def _restore_sessions(run, source, point_id, api_mode, target_name):
    """``(session, entry)`` to follow for this restore, or None; waits briefly for sessions that say nothing yet."""
    since = _now_ms(run) - SESSION_LOOKBACK_MS

    def logs_of(session):
        return spp_jobs.get_session_logs(run.spp, session.get("id"))

    decide_until = run.clock() + min(DECIDE_SECONDS, run.remaining())
    while True:
        sessions = spp_restore.list_restore_sessions(run.spp, since)
        run.seen_sessions.update(str(s.get("id")) for s in sessions)
        matches, undecided = classify_sessions(sessions, source, point_id, api_mode, logs_of, target_name)
        if not undecided or run.clock() >= decide_until:
            return matches
        run.log("waiting for restore session(s) %s to name the VM they restore"
                % ", ".join(str(s.get("id")) for s in undecided))
        run.sleep(min(POLL_SECONDS, 1.0))


def _find_after_loss(run, source, point_id, api_mode, target_name):
    """The session a restore POST whose answer was lost started, looked for during ``FIND_AFTER_LOSS_SECONDS``.

    Only sessions that were not listed before the POST count (no clock comparison: the server's clock may differ).
    """
    until = run.clock() + min(FIND_AFTER_LOSS_SECONDS, run.remaining())
    since = _now_ms(run) - SESSION_LOOKBACK_MS
    while True:
        try:
            sessions = [s for s in spp_restore.list_restore_sessions(run.spp, since)
                        if str(s.get("id")) not in run.seen_sessions]
            matches, undecided = classify_sessions(
                sessions, source, point_id, api_mode, lambda s: spp_jobs.get_session_logs(run.spp, s.get("id")),
                target_name)
        except (ApiError, ConnectionFailure) as error:
            run.log("could not look for the restore session after the lost answer: %s" % error.message)
            return None
        if matches:
            return matches[-1][0]
        if run.clock() >= until:
            return None
        run.log("the restore answer was lost; looking for the restore session it started (%d undecided)"
                % len(undecided))
        run.sleep(1.0)


def _vm_result(details):
    if details is None:
        return {"name": None, "moref": None, "instance_uuid": None, "macs": [], "power_state": None, "nics": []}
    return {key: details.get(key) for key in ("name", "moref", "instance_uuid", "macs", "power_state", "nics")}


def _entry_vm(run, entry):
    """vCenter details of the VM a ``postRestoreInfo`` entry names (by moref, else by name)."""
    details = vsphere_vms.vm_details(run.vsphere, entry.get("moref")) if entry.get("moref") else None
    if details is None and entry.get("name"):
        same = [vm for vm in vsphere_vms.list_vms_with_markers(run.vsphere) if vm["name"] == entry["name"]]
        if len(same) == 1:
            details = vsphere_vms.vm_details(run.vsphere, same[0]["moref"])
    if details is None:
        raise TaskFailed("the restore session reports VM %s (%s), but vCenter has no such VM"
                         % (entry.get("name"), entry.get("moref")), entry=entry)
    return details


def _failure_detail(run, source):
    """For a failed production restore: what vCenter says of the current VM now."""
    current = source["current"]
    if run.request["mode"] != "production" or current is None:
        return ""
    now = vsphere_vms.vm_details(run.vsphere, current["moref"])
    if now is None:
        return " vCenter no longer shows the production VM %s (%s)." % (current["name"], current["moref"])
    return (" The production VM %s (%s) is untouched: it still exists, %s, with instance UUID %s."
            % (current["name"], now["moref"], now["power_state"], now["instance_uuid"]))


def _settled_entry(run, session, source, point, api_mode, what):
    """The entry of a settled session, or ``TaskFailed`` with the session's ERROR logs."""
    status = spp_answers.session_status(session)
    entry = spp_answers.find_entry(session, source["ids"], point["id"], api_mode)
    ok = status in spp_answers.SUCCESS_STATUSES or status == spp_answers.RESOURCE_ACTIVE
    if ok and entry is not None:
        return entry
    try:
        if ok:
            raise TaskFailed("%s ended %s (session %s) without restoring %s"
                             % (what, status, session.get("id"), source["name"]), session_id=str(session.get("id")))
        spp_jobs.check_session_result(run.spp, session, what=what)
        raise TaskFailed("%s ended %s (session %s)" % (what, status, session.get("id")),
                         session_id=str(session.get("id")))
    except TaskFailed as error:
        raise TaskFailed(error.message.rstrip(".") + "." + _failure_detail(run, source), **error.details) from None


def _do_restore(run, plan, source, spp_vm, version, copy, point, target_name, follow):
    """Post the restore (or follow an existing session); return ``(session, entry)`` or ``(session, None)`` if not
    waiting."""
    request = run.request
    mode = plan["spp_mode"]
    api_mode = spp_answers.API_MODES[mode]
    session = None
    if plan["via"] == "follow":
        session = follow[0]
        run.log("following existing restore session %s instead of starting another" % session.get("id"))
        if follow[1] is None and request["wait"]:
            # Its logs name the VM, but not the point: once settled, it may turn out to be another restore.
            session = run.wait(session.get("id"), settle_on_resource_active=True)
            if spp_answers.find_entry(session, source["ids"], point["id"], api_mode) is None:
                run.log("session %s restored something else; starting this restore" % session.get("id"))
                session = None
    if session is None:
        placement = spp_restore.resolve_destination(run.spp, source["hypervisor_id"], host=request.get("host"),
                                                    cluster=request.get("cluster"),
                                                    datastore_map=request.get("datastore_map"),
                                                    network_map=request.get("network_map"))
        href = nested_get(spp_vm, "links", "self", "href")
        name = request.get("name") or (target_name if mode != request["mode"] else None)
        destination = spp_restore.build_destination(
            source_href=href, name=name if mode != "production" else None, target=placement["target"],
            datastore_map=placement["datastore_map"], network_map=placement["network_map"],
            folder=request.get("folder"))
        payload = spp_restore.build_restore_payload(
            spp_vm, version, mode, copy=copy, name=name if mode != "production" else None, destination=destination,
            power_on=request.get("power_on"), allow_overwrite=bool(request.get("overwrite")) and
            source["current"] is not None)
        run.log("starting the %s restore (SPP mode %s) of %s from %s as %s"
                % (request["mode"], api_mode, source["name"], point["time_iso"], target_name))
        try:
            answer = spp_restore.start_restore(run.spp, payload)
        except AmbiguousResult:
            session = _find_after_loss(run, source, point["id"], api_mode, target_name)
            if session is None:
                raise
            run.log("the restore answer was lost, but its session %s was found; following it" % session.get("id"))
        else:
            session_id = answer.get("sessionId")
            session = spp_jobs.get_session(run.spp, session_id) if session_id else None
            if session is None:
                raise TaskFailed("the backup server accepted the restore (%s) but named no job session"
                                 % answer.get("name"), answer=answer)
    if not request["wait"] and not spp_answers.is_settled(spp_answers.session_status(session), True):
        return session, None
    session = run.wait(session.get("id"), settle_on_resource_active=True)
    return session, _settled_entry(run, session, source, point, api_mode, "the restore of %s" % source["name"])


def _do_action(run, action, session_id, source, point):
    """Run (or follow) a test-restore action on its session; return ``(session, entry)`` once settled."""
    session = spp_jobs.get_session(run.spp, session_id)
    status = spp_answers.session_status(session)
    if status == spp_answers.RESOURCE_ACTIVE:
        run.log("%s on test restore session %s" % (action, session_id))
        spp_restore.session_action(run.spp, session, action)
    elif status not in spp_answers.ACTIVE_STATUSES:
        entry = spp_answers.find_entry(session, source["ids"], point["id"], "test")
        if entry is None or spp_answers.entry_state(entry) != {"rrp": "promoted", "clone": "cloned",
                                                               "cleanup": "absent"}[action]:
            raise InvalidRequest("test restore session %s is %s, not RESOURCE ACTIVE: the backup server no longer "
                                 "manages this test restore, so it cannot %s it"
                                 % (session_id, status or "unknown", action), session_id=str(session_id))
    if not run.request["wait"]:
        return session, None
    session = run.wait(session_id, settle_on_resource_active=False)
    return session, _settled_entry(run, session, source, point, "test", "%s of test restore session %s"
                                   % (action, session_id))


def _result(request, source, point, plan, details=None, session_id=None, state=None, changed=False):
    result = {"changed": changed, "mode": request["mode"], "state": state, "session_id": session_id,
              "recovery_point": point,
              "source": {"name": source["name"], "instance_uuid": source["instance_uuid"],
                         "spp_id": source.get("spp_id"),
                         "moref": source["current"]["moref"] if source["current"] else None,
                         "policies": sorted(source["records"][0].get("storageProfiles") or [])},
              "plan": plan, "skipped_tested": False,
              "last_test": public_test_record((source["current"] or {}).get("test_record"))}
    result.update(_vm_result(details))
    return result


def _diff(request, source, plan, target_name, existing):
    """Before/after presence of the VMs the task touches, by name, for ``--diff``."""
    before, after = {}, {}
    if request["state"] == "absent":
        for vm in plan.get("removes", []):
            before[vm["name"]] = "present (%s, test restore)" % vm["moref"]
            after[vm["name"]] = "absent"
        return {"before": before, "after": after}
    for vm in plan["destroys"]:
        before[vm["name"]] = "present (%s, instance UUID %s)" % (vm["moref"], vm["instance_uuid"])
        after[vm["name"]] = "destroyed"
    for vm in plan.get("renames", []):
        before[vm["name"]] = "present (%s)" % vm["moref"]
        before.setdefault(vm["to"], "absent")
        after[vm["to"]] = "present (%s, the previous %s, powered off)" % (vm["moref"], source["name"])
    state = {"promoted": "promoted", "cloned": "cloned"}.get(request["state"], "restored")
    if existing is not None and request["state"] == "present":
        state = existing["marker"].get("state") or state
    final_name = expected_name(state, target_name, source["name"])
    if existing is not None:
        before[existing["name"]] = "present (%s, %s from %s)" % (
            existing["moref"], existing["marker"].get("state"),
            iso_time((existing["marker"].get("recovery_point") or {}).get("time")))
    before.setdefault(final_name, "absent")
    if state == "promoted" and target_name != final_name:
        before.setdefault(target_name, "absent")
        after[target_name] = "absent (renamed to %s)" % final_name
    point = plan["recovery_point"]
    after[final_name] = "%s from %s (%s mode)" % (state, point["time_iso"], request["mode"])
    return {"before": before, "after": after}


def converge(spp, vsphere, request, check_mode=False, progress=None, clock=time.monotonic, wall=time.time,
             sleep=time.sleep):
    """Run the task described by ``request`` (the module's options); return the module result.

    ``request`` keys: vm, recovery_point, copy, mode, name, state, overwrite, host, cluster, datastore_map,
    network_map, folder, power_on, wait, timeout.
    """
    check_request(request)
    run = _Run(spp, vsphere, request, check_mode, progress, clock, wall, sleep)
    wanted_point = parse_recovery_point(request.get("recovery_point"))
    vcenter_vms, source = _read_source(run)
    pairs = merge_versions((record, spp_versions.list_versions(spp, record)) for record in source["records"])
    if request["state"] == "absent":
        if wanted_point is None and request.get("test_result"):
            wanted_point = "latest"  # a test result is the result of one recovery point's test
        result = _converge_absent(run, vcenter_vms, source, pairs, wanted_point)
    else:
        result = _converge_present(run, vcenter_vms, source, pairs, wanted_point)
    if request.get("test_result") and result.get("recovery_point"):
        _record_test(run, source, result)
    point = result.get("recovery_point")
    if point:  # read last: a pre-flight (check mode) looks at it; the restore itself does not depend on it
        point["session_status"] = _backup_session_status(spp, point.get("session_id"))
    return result


def _converge_present(run, vcenter_vms, source, pairs, wanted_point):
    """state present, promoted or cloned."""
    spp, vsphere, request, check_mode = run.spp, run.vsphere, run.request, run.check_mode

    spp_vm, version = choose_point(pairs, wanted_point or "latest")
    copy = spp_answers.choose_copy(version, request.get("copy"))
    point = point_summary(version, copy, request.get("copy"))
    source["spp_id"] = str(spp_vm.get("id"))
    mode = request["mode"]
    api_mode = spp_answers.API_MODES[spp_mode(request, source)]
    target_name = spp_answers.default_name(mode, source["name"], request.get("name"))
    if request.get("skip_if_tested") and source["current"] is not None and passed_test(
            source["current"].get("test_record"), point["id"]):
        plan = {"steps": [], "via": None, "destroys": [], "renames": [], "spp_mode": spp_mode(request, source),
                "changed": False, "recovery_point": point, "name": target_name, "target": _target(request),
                "source_spp_id": source["spp_id"]}
        result = _result(request, source, point, plan)
        result.update(name=target_name, skipped_tested=True, diff={"before": {}, "after": {}})
        run.log("recovery point %s of %s already passed its test (%s): nothing to do"
                % (point["id"], source["name"], result["last_test"].get("when")))
        return result
    marked = next(iter(marked_vms(vcenter_vms, source, point["id"], mode, target_name=target_name)), None)
    follow = None
    if marked is None:
        by_moref = {vm["moref"]: vm for vm in vcenter_vms}
        follow = usable_match(_restore_sessions(run, source, point["id"], api_mode, target_name), by_moref, mode)
    ours = {marked["moref"]} if marked else set()
    if follow is not None and follow[1] is not None:
        ours.add(follow[1].get("moref"))
    if mode == "production" and source["current"] is not None:
        ours.add(source["current"]["moref"])  # replaced, or renamed with keep_current
    holders = [vm for vm in vcenter_vms if vm["name"] == target_name and vm["moref"] not in ours]
    plan = plan_restore(request, source, point, target_name, marked, follow, holders[0] if holders else None)
    plan.update(recovery_point=point, name=source["name"] if request["state"] == "promoted" else target_name,
                target=_target(request), source_spp_id=source["spp_id"])
    if follow is not None:
        plan["session_id"] = str(follow[0].get("id"))
    result_diff = _diff(request, source, plan, target_name, marked)
    if not plan["changed"]:
        result_diff["after"] = dict(result_diff["before"])
    if marked is not None:
        details = vsphere_vms.vm_details(vsphere, marked["moref"]) or marked
        session_id = marked["marker"].get("session_id")
    else:
        details, session_id = None, plan.get("session_id")

    if check_mode or not plan["changed"]:
        state = marked["marker"].get("state") if marked else None
        result = _result(request, source, point, plan, details, session_id, state, plan["changed"])
        if not marked:
            result["name"] = plan["name"]
        result["diff"] = result_diff
        return result

    state = marked["marker"].get("state") if marked else None
    kept = plan["renames"][0] if plan["renames"] else None
    if "rename_current" in plan["steps"]:
        run.log("renaming the current VM %s (%s) to %s" % (kept["name"], kept["moref"], kept["to"]))
        vsphere_vms.rename_vm(vsphere, kept["moref"], kept["to"], timeout=run.remaining())
    if "restore" in plan["steps"]:
        try:
            session, entry = _do_restore(run, plan, source, spp_vm, version, copy, point, target_name, follow)
        except (TaskFailed, ApiError) as error:
            if "rename_current" not in plan["steps"]:
                raise
            # The restore did not happen: give the current VM its name back.
            vsphere_vms.rename_vm(vsphere, kept["moref"], kept["name"], timeout=run.remaining())
            raise TaskFailed("%s It was renamed %s for the restore, and has its name back."
                             % (error.message, kept["to"]), **error.to_result()) from None
        session_id = str(session.get("id"))
        if entry is None:  # wait: false
            result = _result(request, source, point, plan, None, session_id, "running", True)
            result["name"] = target_name
            result["diff"] = result_diff
            return result
        details = _entry_vm(run, entry)
        state = spp_answers.entry_state(entry)
        details["marker"] = vsphere_vms.set_marker(vsphere, details["moref"],
                                                   new_marker(source, point, mode, session_id, state, kept))
        run.log("restored %s as %s (%s)" % (source["name"], details["name"], details["moref"]))
    if "power_off_current" in plan["steps"]:
        run.log("powering off the previous VM %s (%s)" % (kept["to"], kept["moref"]))
        vsphere_vms.power_off_vm(vsphere, kept["moref"], timeout=run.remaining())
    for wanted, action in ACTIONS.items():
        if action not in plan["steps"]:
            continue
        session, entry = _do_action(run, action, session_id, source, point)
        if entry is None:
            result = _result(request, source, point, plan, details, session_id, "running", True)
            result["diff"] = result_diff
            return result
        state = spp_answers.entry_state(entry)
        if state != wanted:
            raise TaskFailed("%s on session %s left the test VM %s; expected %s" % (action, session_id, state, wanted),
                             session_id=session_id)
        details = _entry_vm(run, entry)
        run.log("test restore %s: %s (%s)" % (wanted, details["name"], details["moref"]))
    if "mark" in plan["steps"]:
        marker = details.get("marker") or {}
        if marker.get("state") != state or marker.get("session_id") != session_id:
            vsphere_vms.set_marker(vsphere, details["moref"],
                                   new_marker(source, point, mode, session_id, state, kept or marker.get("kept")))
        details = vsphere_vms.vm_details(vsphere, details["moref"])
    result = _result(request, source, point, plan, details, session_id, state, True)
    result["diff"] = result_diff
    if mode == "production" or state == "promoted":
        policies = result["source"]["policies"]
        run.warnings.append(
            "VM %s now has a new moref (%s): the backup server will see it as a new VM, without policies, at its next "
            "inventory. Protect it again, e.g. with vm_backup_policy (vm: %s, policies: %s, rescan: true)"
            % (details["name"], details["moref"], details["moref"], "[%s]" % ", ".join(policies or ["<policy>"])))
    if run.warnings:
        result["warnings"] = run.warnings
    return result


def _backup_session_status(spp, session_id):
    """Status of the backup session that made a recovery point; None once the server no longer has it."""
    if not session_id:
        return None
    try:
        return spp_answers.session_status(spp_jobs.get_session(spp, session_id)) or None
    except NotFound:
        return None


def _target(request):
    return {"host": request.get("host"), "cluster": request.get("cluster"), "folder": request.get("folder"),
            "datastore_map": request.get("datastore_map") or {}, "network_map": request.get("network_map") or {},
            "location": "alternate" if request.get("host") or request.get("cluster") or request.get("folder")
            else "original",
            "network": "mapped" if request.get("network_map") else (
                "disconnected" if request["mode"] == "test" else "original")}


def plan_cleanup(marked, sessions_matches, vcenter_by_moref, name=None):
    """Test VMs to remove: marked test restores in state restored, plus active test sessions' VMs. Pure.

    Returns ``[{"name", "moref", "session_id"}]``; a promoted or cloned VM is never among them.
    """
    targets = {}
    for vm in marked:
        targets[vm["moref"]] = {"name": vm["name"], "moref": vm["moref"],
                                "session_id": vm["marker"].get("session_id"),
                                "recovery_point_id": str((vm["marker"].get("recovery_point") or {}).get("id"))}
    for session, entry in sessions_matches:
        if entry is None or spp_answers.entry_state(entry) != "restored":
            continue
        if spp_answers.session_status(session) != spp_answers.RESOURCE_ACTIVE:
            continue
        vm = vcenter_by_moref.get(entry.get("moref"))
        if vm is None or vm["moref"] in targets or (name is not None and vm["name"] != name):
            continue
        if vm.get("marker") and vm["marker"].get("state") != "restored":
            continue
        targets[vm["moref"]] = {"name": vm["name"], "moref": vm["moref"], "session_id": str(session.get("id")),
                                "recovery_point_id": str(entry.get("versionId"))}
    return sorted(targets.values(), key=lambda item: (item["name"] or "", item["moref"]))


def _record_test(run, source, result):
    """Write the outcome of the test (``test_result``) on the VM that carries the source's identity.

    After a clean-up that is the source's current VM; after a promotion, the promoted VM (it replaced the source).
    Same point, result and test VM as recorded: no change. No such VM: a warning, nothing recorded.
    """
    request = run.request
    test_vm = spp_answers.default_name("test", source["name"], request.get("name"))
    holder = None
    if request["state"] == "promoted":
        if result.get("state") == "promoted" and result.get("moref"):
            holder = vsphere_vms.vm_details(run.vsphere, result["moref"])
    elif source["current"] is not None:
        holder = source["current"]
    record = new_test_record(result["recovery_point"], request["test_result"], _now_ms(run), test_vm)
    if holder is None:
        if run.check_mode and request["state"] == "promoted":
            result["changed"] = True  # the promotion, then its record, would happen
            result["last_test"] = public_test_record(record)
            return
        result.setdefault("warnings", []).append(
            "no VM named %s in vCenter to record the test result on; the result %s was not recorded"
            % (source["name"], request["test_result"]))
        return
    old = holder.get("test_record")
    if same_test_record(old, record):
        result["last_test"] = public_test_record(old)
        return
    result["changed"] = True
    result["last_test"] = public_test_record(record)
    result.setdefault("diff", {"before": {}, "after": {}})
    result["diff"]["before"]["%s test record" % holder["name"]] = public_test_record(old)
    result["diff"]["after"]["%s test record" % holder["name"]] = public_test_record(record)
    if run.check_mode:
        return
    vsphere_vms.set_marker(run.vsphere, holder["moref"], record, field=vsphere_vms.TEST_FIELD)
    run.log("recorded on %s (%s): the test of recovery point %s %s"
            % (holder["name"], holder["moref"], record["recovery_point"]["id"], record["result"]))


def _converge_absent(run, vcenter_vms, source, pairs, wanted_point):
    """state absent: clean up the test restores of the source (of one point when recovery_point is given)."""
    request = run.request
    point = None
    if wanted_point is not None:
        spp_vm, version = choose_point(pairs, wanted_point)
        point = point_summary(version)
        source["spp_id"] = str(spp_vm.get("id"))
    else:
        source["spp_id"] = str(source["records"][0].get("id"))
    point_id = point["id"] if point else None
    marked = marked_vms(vcenter_vms, source, point_id, "test", ("restored",), request.get("name"))
    matches = []
    for session in spp_restore.list_restore_sessions(run.spp, _now_ms(run) - SESSION_LOOKBACK_MS):
        for entry in spp_answers.restore_entries(session):
            if str(entry.get("sourceVmId")) in source["ids"] and (point_id is None or str(entry.get("versionId")) ==
                                                                  point_id) and entry.get("mode") in (None, "test"):
                matches.append((session, entry))
    by_moref = {vm["moref"]: vm for vm in vcenter_vms}
    removes = plan_cleanup(marked, matches, by_moref, request.get("name"))
    plan = {"steps": ["cleanup"] if removes else [], "via": None, "destroys": [], "removes": removes,
            "changed": bool(removes), "recovery_point": point, "name": request.get("name"), "target": None}
    result = _result(request, source, point, plan, None, None, "absent", bool(removes))
    result["removed"] = removes
    result["diff"] = _diff(request, source, plan, None, None)
    if run.check_mode or not removes:
        return result
    for item in removes:
        if not item.get("session_id"):
            raise InvalidRequest("test VM %s (%s) has no restore session recorded; remove it in vCenter"
                                 % (item["name"], item["moref"]))
        try:
            _do_action(run, "cleanup", item["session_id"], source, {"id": item["recovery_point_id"]})
        except NotFound:
            raise InvalidRequest("the restore session %s of test VM %s (%s) no longer exists on the backup server, "
                                 "so it cannot clean it up; remove the VM in vCenter"
                                 % (item["session_id"], item["name"], item["moref"])) from None
        if run.request["wait"] and vsphere_vms.vm_details(run.vsphere, item["moref"]) is not None:
            raise TaskFailed("cleanup of session %s completed, but test VM %s (%s) is still in vCenter"
                             % (item["session_id"], item["name"], item["moref"]), session_id=item["session_id"])
        run.log("test VM %s (%s) removed" % (item["name"], item["moref"]))
    result["session_id"] = removes[0]["session_id"]
    return result
