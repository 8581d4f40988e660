# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The records ``vm_restore`` leaves in vCenter: the marker on a restored VM and the test record on a tested VM;
what they say, and which VMs carry a marker of this restore. Pure.

Considered private: only this collection may import it. ``vsphere.vms`` writes and reads them (``set_marker``,
``list_vms_with_markers``); this module decides what they contain and whether they match. The service's module
docstring (``services/restore.py``) tells how they make a restore idempotent.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_request import iso_time


def new_marker(source, point, mode, session_id, state, kept=None, request=None, policies=None):
    """The marker dict for a VM restored from ``point`` of ``source`` (moref is added when it is written).

    ``kept`` records the VM that a production restore with ``keep_current`` kept (``{"name", "moref"}``); ``request``
    the request key of a replacing restore and ``policies`` the policies of the VM it replaced.
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
    if request:
        marker["request"] = request
        marker["policies"] = sorted(policies or [])
    return marker


def new_test_record(point, result, when_ms, test_vm):
    """The test record of ``point`` (a ``point_summary``) that ended ``result`` (passed or failed)."""
    return {"recovery_point": {"id": point["id"], "time": point["time"], "time_iso": point.get("time_iso")},
            "result": result, "when": iso_time(when_ms), "test_vm": test_vm}


def same_test_record(old, new):
    """Whether ``old`` already records ``new`` (same point, result and test VM; ``when`` is not compared)."""
    if not old:
        return False
    return (str((old.get("recovery_point") or {}).get("id")) == str(new["recovery_point"]["id"])
            and old.get("result") == new["result"] and old.get("test_vm") == new["test_vm"])


def passed_test(record, point_id):
    """Whether the test record says that the recovery point ``point_id`` passed its test."""
    return bool(record) and record.get("result") == "passed" and str(
        (record.get("recovery_point") or {}).get("id")) == str(point_id)


def public_test_record(record):
    """The test record as results show it (without the format fields)."""
    if not record:
        return None
    return {key: value for key, value in record.items() if key not in ("v", "moref")}


def marker_matches(marker, source_ids, instance_uuid, point_id=None, mode=None, states=None):
    """Whether a marker records a restore of this source (and point, mode, lifecycle states when given)."""
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
    """The name a restored VM has in a lifecycle state: a promoted test VM took the source's name."""
    return source_name if state == "promoted" else target_name


def marked_vms(vcenter_vms, source, point_id=None, mode=None, states=None, name=None, target_name=None):
    """vCenter VMs whose own marker matches, sorted by name.

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


# -- once per request: the request key, and the record of a request in progress ----------------------------------

# The steps of a replacing restore that the request record says are done, in order. A production restore never
# records "promoted", and a promotion never records "old_powered_off": ``reached`` compares positions only.
PROGRESS = ("started", "posted", "restored", "promoted", "old_powered_off", "protected")


def replaces(request):
    """Whether the request replaces a production VM: a production restore, or the promotion of a test restore."""
    return request["mode"] == "production" or request["state"] == "promoted"


def request_key(request, wanted_point):
    """The key that makes a replacing restore happen once: ``restore_id`` when given, else the recovery point as the
    task wrote it (``wanted_point`` from ``parse_recovery_point``: latest, an id, or before a time). A re-run with the
    same key restores nothing."""
    if request.get("restore_id"):
        return "restore_id:%s" % request["restore_id"]
    wanted = wanted_point or "latest"
    if isinstance(wanted, dict):
        return "before:%s" % wanted["before"]
    return "recovery_point:%s" % wanted


def marker_request(marker):
    """The request key a marker records; a marker written before request keys existed: its recovery point id."""
    if not marker:
        return None
    return marker.get("request") or "recovery_point:%s" % (marker.get("recovery_point") or {}).get("id")


def fulfilled_by(vm, source, request, key):
    """Whether ``vm`` (the VM carrying the production name) is this replacing request, done: its own marker records
    the same source, request key and a final state (restored for a production restore, promoted for a promotion)."""
    marker = (vm or {}).get("marker")
    wanted_state = "promoted" if request["state"] == "promoted" else "restored"
    wanted_mode = "test" if request["state"] == "promoted" else "production"
    return (marker_matches(marker, source["ids"], source["instance_uuid"], mode=wanted_mode, states=(wanted_state,))
            and marker_request(marker) == key)


def new_request_record(key, source, point, mode, state, policies, kept, since_ms):
    """The record of a replacing restore about to make its first change (``step`` ``started``)."""
    current = source["current"] or {}
    return {"request": key, "mode": mode, "state": state, "step": "started", "since_ms": int(since_ms),
            "source": {"name": source["name"], "instance_uuid": source["instance_uuid"], "spp_id": source["spp_id"],
                       "moref": current.get("moref")},
            "recovery_point": {"id": point["id"], "time": point["time"]},
            "policies": sorted(policies or []), "kept": dict(kept) if kept else None,
            "session_id": None, "restored_moref": None}


def record_key(source):
    """Where the request record of a source is filed: its instance UUID (a restore keeps it, spp-api.md 14.10)."""
    return str(source["instance_uuid"] or source["spp_id"])


def reached(record, step):
    """Whether the request record says ``step`` (one of ``PROGRESS``) is done."""
    return bool(record) and PROGRESS.index(record.get("step", "started")) >= PROGRESS.index(step)
