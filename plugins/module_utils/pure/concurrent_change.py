# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Lost updates: what this task read, wrote and finds afterwards, compared. Pure: no I/O.

Considered private: only this collection may import it.

SPP's writes replace a whole value: ``applySLAPolicies`` a resource's whole policy set, ``PUT /ngp/slapolicy/{id}``
a whole definition (spp-api.md sections 3.3 and 4), and neither takes a version or a condition. Two plays that read
the same value and each write their own change back both succeed, and the first change is lost. So the services read
the value again just before writing (``changed_since_read``: someone changed it since the plan was made, writing would
erase their change, nothing is written) and once after (``lost_after_write``: someone wrote over this task's change).
Both are one listing, made only when there is something to write.

The check narrows the window, it cannot close it: a write that is still on its way to the server while the other
play reads back, then lands, is seen by neither. Hence the advice in every message: serialise the plays.

A resource is ``(vm_key, disk)`` as in ``pure.assignment_plan``; ``now`` maps each to its set on the server (a list
of names), or None when the server no longer has it.
"""

from __future__ import annotations

import json

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.assignment_plan import resource_sort_key

CONVERGE_AND_SERIALISE = (
    "Run the task again: it reads the server afresh and converges. Plays that change the same VMs or the same policy "
    "must not run at the same time: serialise them (for example throttle: 1 on the task, serial: 1 on the play, one "
    "job at a time for the AWX job template, or AWX slices that never share a VM).")
SLA_FIELDS = ("name", "description", "spec")  # what a PUT replaces; links, ids and run statistics are the server's
# The managed fields of a definition, as backup_sla_policy shows them (``services.sla_policies.view``).
DEFINITION_VIEW = ("name", "description", "site", "encryption", "retention", "trigger")


def _names(policies):
    return "[%s]" % ", ".join(sorted(policies)) if policies is not None else "(gone from the backup server)"


def _conflict(change, now):
    return {"vm": change["vm"], "vm_name": change.get("vm_name"), "disk": change.get("disk"),
            "read": sorted(change["before"]), "written": sorted(change["after"]),
            "now": sorted(now) if now is not None else None}


def _sorted(conflicts):
    return sorted(conflicts, key=lambda c: resource_sort_key(c["vm_name"], c["vm"], c["disk"]))


def changed_since_read(changes, now):
    """The changes whose resource no longer holds the set the plan was computed from (``before``): writing the
    planned ``after`` would replace a set someone else has just changed. Each conflict is ``{"vm", "vm_name",
    "disk", "read", "written" (what this task would write), "now"}``."""
    found = []
    for change in changes:
        current = now.get((change["vm"], change.get("disk")))
        if current is None or set(current) != set(change["before"]):
            found.append(_conflict(change, current))
    return _sorted(found)


def lost_after_write(changes, now):
    """The written changes that did not survive: a policy this task added is missing, one it removed is back, or the
    resource is gone. Someone else's change that keeps this task's is not a loss (see ``rewritten_after_write``)."""
    found = []
    for change in changes:
        current = now.get((change["vm"], change.get("disk")))
        if current is None or not set(change["added"]) <= set(current) or set(change["removed"]) & set(current):
            found.append(_conflict(change, current))
    return _sorted(found)


def rewritten_after_write(changes, now):
    """The written resources whose set someone else changed again while keeping this task's change."""
    lost = {(c["vm"], c["disk"]) for c in lost_after_write(changes, now)}
    found = []
    for change in changes:
        key = (change["vm"], change.get("disk"))
        if key not in lost and set(now[key]) != set(change["after"]):
            found.append(_conflict(change, now[key]))
    return _sorted(found)


def resource_name(conflict):
    """``web01 (vm-12)`` or ``web01 (vm-12) / Hard disk 2``."""
    name = "%s (%s)" % (conflict.get("vm_name") or conflict["vm"], conflict["vm"])
    return name if conflict.get("disk") is None else "%s / %s" % (name, conflict["disk"])


def before_write_message(conflicts):
    lines = ["concurrent change: the policies of %d resource(s) changed on the backup server after this task read "
             "them, so nothing was written (this task's write would have replaced that change):" % len(conflicts)]
    lines += ["- %s: read %s, now %s; this task would write %s"
              % (resource_name(c), _names(c["read"]), _names(c["now"]), _names(c["written"])) for c in conflicts]
    lines.append(CONVERGE_AND_SERIALISE)
    return "\n".join(lines)


def after_write_message(conflicts, calls):
    lines = ["concurrent change: another writer replaced the policies of %d resource(s) while this task wrote them "
             "(%d write call(s) applied), and this task's change is lost there:" % (len(conflicts), calls)]
    lines += ["- %s: this task wrote %s, now %s" % (resource_name(c), _names(c["written"]), _names(c["now"]))
              for c in conflicts]
    lines.append(CONVERGE_AND_SERIALISE)
    return "\n".join(lines)


def rewritten_warning(conflicts):
    return ("another writer changed the policies of %s right after this task wrote them; this task's change is kept "
            "(%s). Plays that change the same VMs at the same time must be serialised."
            % (", ".join(resource_name(c) for c in conflicts),
               "; ".join("%s now %s" % (resource_name(c), _names(c["now"])) for c in conflicts)))


# -- SLA policy definitions ----------------------------------------------------------------------------------------

def sla_changed_since_read(read, now):
    """The fields of ``SLA_FIELDS`` that differ between the definition read for the plan and the one read just before
    the PUT (``["(deleted)"]`` when the policy is gone): the PUT would put the values read back."""
    if now is None:
        return ["(deleted)"]
    return [field for field in SLA_FIELDS if read.get(field) != now.get(field)]


def _show(value):
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else repr(value)


def _field_differences(first, second, fields, first_word):
    return "; ".join("%s: %s %s, now %s" % (field, first_word, _show(first.get(field)), _show(second.get(field)))
                     for field in fields)


def sla_before_write_message(name, read_view, now_view):
    """``read_view``, ``now_view``: the managed fields (``DEFINITION_VIEW``) as read for the plan and just before the
    PUT; ``now_view`` None when the policy is gone."""
    if now_view is None:
        what = "it was deleted"
    else:
        fields = [field for field in DEFINITION_VIEW if read_view.get(field) != now_view.get(field)]
        what = _field_differences(read_view, now_view, fields, "read") or "fields this module does not manage"
    return ("concurrent change: SLA policy %s changed on the backup server after this task read it (%s), so nothing "
            "was written: an update sends the whole definition and would have replaced that change. %s"
            % (name, what, CONVERGE_AND_SERIALISE))


def sla_after_write_message(name, fields, written_view, now_view):
    """``fields``: the options this task set whose value on the server is no longer the one it wrote; ``now_view``
    None when the policy is gone."""
    if now_view is None:
        what = "the policy is gone"
    else:
        what = _field_differences(written_view, now_view, fields, "this task wrote")
    return ("concurrent change: another writer replaced SLA policy %s while this task updated it, and this task's "
            "change is lost (%s). %s" % (name, what, CONVERGE_AND_SERIALISE))
