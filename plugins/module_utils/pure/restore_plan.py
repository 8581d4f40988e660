# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Third stage of ``vm_restore``: the plan, and what the result and ``--diff`` say of it. Pure.

Considered private: only this collection may import it. A plan is a dict whose ``steps`` name, in order, what
applying it does: ``rename_current``, ``restore``, ``power_off_current``, ``rrp`` (promote a test VM), ``clone``
(keep a test VM as a clone), ``mark`` and, for state absent, ``cleanup``. ``services/restore.py`` applies each step
by name; check mode stops before the first. Every refusal is raised here, before anything is sent.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, RuleViolation
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_markers import (
    expected_name,
    public_test_record,
    reached,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_request import iso_time
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_source import spp_identity

# What each wanted state asks of the restored VM's lifecycle, and the session action that gets it there.
ACTIONS = {"promoted": "rrp", "cloned": "clone"}


def _describe_vm(vm):
    return "%s (%s)" % (vm["name"], vm["moref"])


def kept_name(source):
    """Name under which ``keep_current`` keeps the current VM."""
    return "%s_OLD" % source["name"]


def spp_mode(request, source):
    """The restore mode sent to SPP.

    A production restore that keeps the current VM is an SPP clone under the original name (the seeds' recipe:
    clone, then give it the production name): an SPP production restore would destroy the VM it recorded.
    """
    if request["mode"] == "production" and request.get("keep_current") and source["current"] is not None:
        return "clone"
    return request["mode"]


def name_holder(vcenter_vms, target_name, mode, source, marked, follow):
    """Another vCenter VM that already has ``target_name``: not the marked VM, not the VM of the followed session,
    and not the current VM, which a production restore replaces or, with ``keep_current``, renames."""
    ours = {marked["moref"]} if marked else set()
    if follow is not None and follow[1] is not None:
        ours.add(follow[1].get("moref"))
    if mode == "production" and source["current"] is not None:
        ours.add(source["current"]["moref"])  # replaced, or renamed with keep_current
    holders = [vm for vm in vcenter_vms if vm["name"] == target_name and vm["moref"] not in ours]
    return holders[0] if holders else None


def plan_restore(request, source, point, target_name, marked, follow, holder):
    """The steps for mode test/clone/production with state present/promoted/cloned.

    ``marked``: the VM whose marker records this restore (or None); ``follow``: ``(session, vm)`` of an existing
    restore session to follow, with the unmarked VM it made when it has settled (or None); ``holder``: another
    vCenter VM that already has ``target_name``
    (``name_holder``). Raises ``RuleViolation`` for a production restore over an existing VM without
    ``overwrite``, and ``InvalidRequest`` for the other refusals; nothing has been sent at that point.
    """
    mode, wanted = request["mode"], request["state"]
    current = source["current"]
    have = None
    via = None
    if marked is not None:
        have = marked["marker"].get("state")
    elif follow is not None:
        via = "follow"
        have = "restored" if follow[1] is not None else None  # an adopted VM is unmarked: just restored
    steps = []
    destroys = []
    renames = []
    if have is None and via is None:
        via = "post"
        _check_restore_allowed(request, source, target_name, holder)
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


def _check_promotion_confirmed(request, source):
    """A promotion destroys the VM that carries the source's name: it needs ``overwrite`` as a production restore
    does."""
    current = source["current"]
    if request["state"] == "promoted" and current is not None and not request.get("overwrite"):
        raise RuleViolation([{
            "rule": "promotion_overwrites",
            "vm": _describe_vm(current),
            "reason": "promoting the test restore destroys the current VM %s and puts the test VM in its place; "
                      "overwrite is false." % current["name"],
            "fix": "set overwrite: true to replace it; or keep the test VM next to it with state: cloned.",
        }])


def plan_replacing(request, source, target_name, vcenter_vms, progress):
    """The steps of a restore that replaces a production VM (``restore_markers.replaces``), once per request key.

    ``progress`` says what is already there: ``fulfilled`` (the VM carrying the production name records this request
    as done), ``record`` (the request record of a run that stopped part-way: the plan resumes after its last step),
    ``marked`` (for a promotion, the marked test VM to promote), ``follow`` (the restore session to follow) and
    ``policies`` (those to re-apply to the restored VM). A new request starts with ``record`` (written before the first
    change) and ends with ``mark`` and ``forget`` (the marker on the restored VM, then the record removed).
    """
    current, record, marked = source["current"], progress.get("record"), progress.get("marked")
    by_moref = {vm["moref"]: vm for vm in vcenter_vms}
    steps, destroys, via, kept = [], [], None, None
    if progress.get("fulfilled"):
        return _replacing_plan(request, source, steps, via, destroys, [])
    if record is None:
        if marked is None:
            via = "follow" if progress.get("follow") else "post"
            _check_restore_allowed(request, source, target_name, name_holder(
                vcenter_vms, target_name, request["mode"], source, None, progress.get("follow")))
        elif marked["marker"].get("state") != "restored":
            raise InvalidRequest("the test restore of %s was already %s (VM %s); it cannot be promoted as well"
                                 % (source["name"], marked["marker"].get("state"), _describe_vm(marked)))
        _check_promotion_confirmed(request, source)
        if current is not None and not request.get("keep_current"):
            destroys.append(current)
        if current is not None and request.get("keep_current"):
            kept = {"name": current["name"], "moref": current["moref"], "to": kept_name(source)}
        steps.append("record")
    else:
        kept = record.get("kept")
        if not reached(record, "restored"):
            via = "follow" if progress.get("follow") else "post"
    kept_vm = by_moref.get((kept or {}).get("moref")) or {}
    if kept_vm and kept_vm["name"] != kept["to"]:
        steps.append("rename_current")
    if via is not None:
        steps.append("restore")
    if kept_vm.get("power_state") == "poweredOn":
        steps.append("power_off_current")
    if request["state"] == "promoted" and not reached(record, "promoted"):
        steps.append("rrp")
    if request.get("reprotect", True) and progress.get("policies") and not reached(record, "protected"):
        steps.append("protect")
    steps += ["mark", "forget"]
    return _replacing_plan(request, source, steps, via, destroys, [kept] if kept else [])


def _replacing_plan(request, source, steps, via, destroys, renames):
    return {"steps": steps, "via": via, "destroys": [{"name": vm["name"], "moref": vm["moref"],
                                                      "instance_uuid": vm["instance_uuid"]} for vm in destroys],
            "renames": renames, "spp_mode": spp_mode(request, source), "changed": bool(steps)}


def plan_present(request, source, point, target_name, vcenter_vms, marked, follow, progress=None):
    """``plan_restore`` (or, with ``progress``, ``plan_replacing``) as the result shows it: with the point, the final
    name, the target and the followed session."""
    if progress is not None:
        plan = plan_replacing(request, source, target_name, vcenter_vms, progress)
    else:
        holder = name_holder(vcenter_vms, target_name, request["mode"], source, marked, follow)
        plan = plan_restore(request, source, point, target_name, marked, follow, holder)
    plan.update(recovery_point=point, name=source["name"] if request["state"] == "promoted" else target_name,
                target=restore_target(request), source_spp_id=source["spp_id"])
    if follow is not None:
        plan["session_id"] = str(follow[0].get("id"))
    return plan


def plan_skipped(request, source, point, target_name):
    """The empty plan of a recovery point that already passed its test (``skip_if_tested``)."""
    return {"steps": [], "via": None, "destroys": [], "renames": [], "spp_mode": spp_mode(request, source),
            "changed": False, "recovery_point": point, "name": target_name, "target": restore_target(request),
            "source_spp_id": source["spp_id"]}


def plan_absent(request, point, removes):
    """The plan of state absent: clean up ``removes`` (``plan_cleanup``)."""
    return {"steps": ["cleanup"] if removes else [], "via": None, "destroys": [], "removes": removes,
            "changed": bool(removes), "recovery_point": point, "name": request.get("name"), "target": None}


def plan_cleanup(marked, session_matches):
    """Test VMs to remove: the marked test restores in state restored, plus the unmarked test VMs of active test
    sessions (``restore_session_match.cleanup_matches``: ``[(session, vm)]``).

    Returns ``[{"name", "moref", "session_id", "recovery_point_id"}]``; a promoted or cloned VM is never among them,
    and an unmarked VM has no known recovery point (None).
    """
    targets = {}
    for vm in marked:
        targets[vm["moref"]] = {"name": vm["name"], "moref": vm["moref"],
                                "session_id": vm["marker"].get("session_id"),
                                "recovery_point_id": str((vm["marker"].get("recovery_point") or {}).get("id"))}
    for session, vm in session_matches:
        targets.setdefault(vm["moref"], {"name": vm["name"], "moref": vm["moref"],
                                         "session_id": str(session.get("id")), "recovery_point_id": None})
    return sorted(targets.values(), key=lambda item: (item["name"] or "", item["moref"]))


def _check_restore_allowed(request, source, target_name, holder):
    mode = request["mode"]
    current = source["current"]
    if mode == "production" and request.get("keep_current") and current is not None:
        if holder is not None:
            raise InvalidRequest("VM %s already has the name %s; keeping the current VM %s as %s needs that name "
                                 "free: rename or remove it first"
                                 % (_describe_vm(holder), target_name, current["name"], kept_name(source)))
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
        if holder is not None:
            raise InvalidRequest("a production restore of %s would create a second VM named %s next to %s; rename "
                                 "or remove that VM first" % (source["name"], target_name, _describe_vm(holder)))
        return
    if holder is not None:
        other = holder.get("marker")
        what = ""
        if other:
            what = " (a %s restore of %s from %s, now %s)" % (
                other.get("mode"), (other.get("source") or {}).get("name"),
                iso_time((other.get("recovery_point") or {}).get("time")), other.get("state"))
        raise InvalidRequest("VM %s already exists in vCenter%s; a %s restore cannot take its name. Give another "
                             "name, or remove that VM first (for a test restore: state: absent)"
                             % (_describe_vm(holder), what, mode))


# -- what the result says -----------------------------------------------------------------------------------------


def restore_target(request):
    """Where the restore puts the VM, and on which network, as the plan shows it."""
    return {"host": request.get("host"), "cluster": request.get("cluster"), "folder": request.get("folder"),
            "datastore_map": request.get("datastore_map") or {}, "network_map": request.get("network_map") or {},
            "location": "alternate" if request.get("host") or request.get("cluster") or request.get("folder")
            else "original",
            "network": "mapped" if request.get("network_map") else (
                "disconnected" if request["mode"] == "test" else "original")}


def _vm_result(details):
    if details is None:
        return {"name": None, "moref": None, "instance_uuid": None, "macs": [], "power_state": None, "nics": []}
    return {key: details.get(key) for key in ("name", "moref", "instance_uuid", "macs", "power_state", "nics")}


def restore_result(request, source, point, plan, details=None, session_id=None, state=None, changed=False):
    """The module result: the restored VM (``details``, from vCenter), its session and lifecycle state, the source."""
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


def restore_diff(request, source, plan, target_name, existing):
    """Before/after presence of the VMs the task touches, by name, for ``--diff``; the same when nothing changes."""
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
    if not plan["changed"]:
        after = dict(before)
    return {"before": before, "after": after}
