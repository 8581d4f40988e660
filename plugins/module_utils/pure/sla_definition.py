# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SLA policy definitions: the module's options <-> the SPP ``spec.subpolicy`` backup entry. Pure functions.

Considered private: only this collection may import it. Only the options a user gave are compared, so a policy
edited elsewhere in fields the playbook does not manage is left alone.
"""

from __future__ import annotations

import copy

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _arguments
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest
from ansible_collections.sovereign.vm_backup.plugins.module_utils._time import epoch_ms

TRIGGER_TYPES = {"subhourly": "SUBHOURLY", "hourly": "HOURLY", "daily": "DAILY", "weekly": "WEEKLY",
                 "monthly": "MONTHLY"}
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
ACTIVATE_ROUNDING_MS = 5 * 60 * 1000  # SPP rounds a schedule's activateDate to 5 minutes
# The range of each numeric option of backup_sla_policy (``_arguments``): the module checks them before any call,
# and the functions below again, for any other caller.
RANGES = {
    "retention.days": (1, 36500),
    "retention.recovery_points": (1, 100000),
    "schedule.interval": (1, 999),
    "schedule.monthdays[]": (1, 31),
}


class InvalidDefinition(ValueError):
    """The options describe no valid SLA policy; the message says which option and why."""


def _in_range(option, value):
    """``value`` of ``option`` (a path of ``RANGES``) as an int; ``InvalidDefinition`` when outside its range."""
    problem = _arguments.range_problem(option, value, *RANGES[option])
    if problem:
        raise InvalidDefinition(problem)
    return value


def site_problem(site, sites):
    """Why ``site`` is not the name of one of the backup server's ``sites`` (its ``/api/site`` records); None when
    it is, or unset. Checked before any write: the server would refuse it, and check mode would plan a change."""
    names = sorted({str(item.get("name")) for item in sites or [] if item.get("name")})
    if site is None or site in names:
        return None
    return "site %s does not exist on the backup server; its sites: %s" % (site, ", ".join(names) or "none")


def parse_start(value):
    """An ISO 8601 time (``2026-01-01T22:00:00Z``, or a naive time read as UTC) -> epoch ms rounded to 5 minutes."""
    try:
        millis = epoch_ms(str(value), "schedule.start")
    except InvalidRequest as error:
        raise InvalidDefinition(error.message) from None
    return millis - millis % ACTIVATE_ROUNDING_MS


def _day_flags(values, size, option, name_to_index):
    flags = [False] * size
    for value in values:
        key = str(value).lower()
        if key in name_to_index:
            flags[name_to_index[key]] = True
            continue
        try:
            index = int(key)
        except ValueError:
            raise InvalidDefinition("%s: %r is not a valid day" % (option, value)) from None
        if not 1 <= index < size:
            raise InvalidDefinition("%s: %r is out of range 1..%d" % (option, value, size - 1))
        flags[index] = True
    return flags


def trigger_from_schedule(schedule):
    """The ``trigger`` of a backup subpolicy for the module's ``schedule`` option (only the keys given)."""
    trigger = {}
    every = schedule.get("every")
    if every is not None:
        if every not in TRIGGER_TYPES:
            raise InvalidDefinition("schedule.every must be one of %s" % ", ".join(TRIGGER_TYPES))
        trigger["type"] = TRIGGER_TYPES[every]
    if schedule.get("interval") is not None:
        trigger["frequency"] = _in_range("schedule.interval", schedule["interval"])
    if schedule.get("start") is not None:
        trigger["activateDate"] = parse_start(schedule["start"])
    if schedule.get("timezone") is not None:
        trigger["timezone"] = schedule["timezone"]
    if schedule.get("weekdays"):
        if every not in (None, "weekly"):
            raise InvalidDefinition("schedule.weekdays goes with every: weekly")
        # dowList has 8 entries; index 1 is Sunday and index 0 is unused
        trigger["dowList"] = _day_flags(schedule["weekdays"], 8, "schedule.weekdays",
                                        {name: i + 1 for i, name in enumerate(WEEKDAYS)})
    if schedule.get("monthdays"):
        if every not in (None, "monthly"):
            raise InvalidDefinition("schedule.monthdays goes with every: monthly")
        trigger["domList"] = _day_flags(schedule["monthdays"], 32, "schedule.monthdays", {})
    return trigger


def desired_subpolicy(site=None, retention=None, schedule=None, encryption=None):
    """The fields of the backup subpolicy that the user asked for, in SPP's vocabulary."""
    wanted = {}
    if site is not None:
        wanted["site"] = site
    if encryption is not None:
        wanted["useEncryption"] = bool(encryption)
    if retention:
        days, points = retention.get("days"), retention.get("recovery_points")
        if (days is None) == (points is None):
            raise InvalidDefinition("retention takes exactly one of days or recovery_points")
        if days is not None:
            wanted["retention"] = {"age": _in_range("retention.days", days)}
        else:
            wanted["retention"] = {"numsnapshots": _in_range("retention.recovery_points", points)}
    if schedule:
        wanted["trigger"] = trigger_from_schedule(schedule)
    return wanted


def check_definition(site=None, retention=None, schedule=None, encryption=None):
    """``desired_subpolicy``'s checks, as the ``InvalidRequest`` a module fails with before any call."""
    try:
        desired_subpolicy(site=site, retention=retention, schedule=schedule, encryption=encryption)
    except InvalidDefinition as error:
        raise InvalidRequest("%s; nothing was changed" % error) from None


def backup_subpolicy(definition):
    """The subpolicy that holds the backup (REPLICATION with software true, spp-api.md section 3.1)."""
    for subpolicy in (definition.get("spec") or {}).get("subpolicy") or []:
        if subpolicy.get("type") == "REPLICATION" and subpolicy.get("software", True):
            return subpolicy
    return None


def _differs(wanted, current):
    """True when a wanted value (possibly a nested dict) is not what the server has; unset keys are ignored."""
    if isinstance(wanted, dict):
        if not isinstance(current, dict):
            return True
        return any(_differs(value, current.get(key)) for key, value in wanted.items())
    return wanted != current


def changed_fields(current, description=None, subpolicy=None):
    """Names of the given options whose value differs on the server."""
    fields = []
    if description is not None and (current.get("description") or "") != description:
        fields.append("description")
    existing = backup_subpolicy(current) or {}
    for key, value in (subpolicy or {}).items():
        if _differs(value, existing.get(key)):
            fields.append(key)
    return fields


def new_definition(name, description, subpolicy):
    """A complete definition for a new policy: the documented defaults, overridden by what the user gave."""
    if "site" not in subpolicy:
        raise InvalidDefinition("a new SLA policy needs site")
    base = {"type": "REPLICATION", "software": True, "useEncryption": False, "retention": {"age": 15},
            "trigger": {"type": "DAILY", "frequency": 1, "timezone": "UTC"}}
    merged = merged_subpolicy(base, subpolicy)
    definition = {"name": name, "type": "backup", "version": "1.0", "spec": {"simple": True, "subpolicy": [merged]}}
    if description is not None:
        definition["description"] = description
    return definition


def merged_subpolicy(existing, wanted):
    merged = copy.deepcopy(existing)
    for key, value in wanted.items():
        if key == "trigger" and isinstance(merged.get("trigger"), dict):
            merged["trigger"].update(value)
        elif key == "retention":
            merged["retention"] = dict(value)  # age and numsnapshots exclude each other
        else:
            merged[key] = value
    return merged


def updated_definition(current, description=None, subpolicy=None):
    """The full definition to PUT: the server's copy with the given options changed and the name unchanged.

    The name is always the current one: a PUT with another name renames *and* leaves a copy of the original
    (spp-api.md section 3.3), so this collection never renames through an update.
    """
    definition = {key: copy.deepcopy(value) for key, value in current.items() if key not in ("links", "id")}
    definition["name"] = current["name"]
    if description is not None:
        definition["description"] = description
    subpolicies = (definition.get("spec") or {}).get("subpolicy") or []
    for index, existing in enumerate(subpolicies):
        if existing.get("type") == "REPLICATION" and existing.get("software", True):
            subpolicies[index] = merged_subpolicy(existing, subpolicy or {})
            break
    return definition
