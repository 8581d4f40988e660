# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bad-input table of issue 14 (part 6): every bad input tried per module, role and the inventory plugin, with a
fragment of the error it must give. Plain data, shared by ``tests/unit/plugins/modules/test_bad_input_table.py``
(every row refused by the module's own argument checks, run in-process: the error, and no client built) and
``tests/integration/test_bad_input.py`` (the rows that need the servers, and a sample of the others, run through
``ansible-playbook`` against the lab: the error, and no write on either server).

Each row is a task that would change something with a good value (a clone restore, a policy assignment, a new SLA
policy, a backup, a power-off, an inventory run, report files), given one bad value instead. ``before`` says when it
must be refused: ``args``, before any call to a server; ``server``, after reading, before any write. ``defect`` says
what the collection did with that input before issue 14 (found by running the table against the previous commit, one
row at a time: ``BAD_INPUT_SURVEY=<file>`` with the integration test); those were fixed. ``e2e`` rows of kind
``args`` are run against the lab as well.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass

BACKED_UP = "DC0_H0_VM2"  # protected by Gold and backed up once by the integration fixture

COVERAGE = {"vms": [], "vcenter_only": [], "spp_only": [],
            "summary": {"flags": {}, "rpo": "24h", "rpo_seconds": 86400, "generated_at": "2026-11-22T02:11:10Z"}}


@dataclass
class Row:
    module: str
    option: str
    value: object  # as the table shows it
    args: dict  # the whole module arguments (or role variables, or inventory options)
    expect: str  # a fragment of the error message
    before: str = "args"  # "args": refused before any call; "server": after reading, before any write
    defect: str = ""  # what happened with this input before issue 14, when it was wrong
    e2e: bool = False  # an "args" row run against the lab too

    @property
    def key(self):
        """``module option value``: the row's name in the survey and in test ids."""
        return "%s %s %s" % (self.module, self.option, json.dumps(self.value, default=str, sort_keys=True))


def _set(args, path, value):
    """``args`` with ``value`` at the dotted ``path``; the value ``DROP`` removes the key."""
    args = copy.deepcopy(args)
    keys = path.split(".")
    target = args
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    if value is DROP:
        target.pop(keys[-1], None)
    else:
        target[keys[-1]] = value
    return args


DROP = object()


def rows_of(module, base, cases):
    """Rows of ``module``: each case ``(option, value, expect[, before])``, or ``(label, args, expect, ...)``
    with ``args`` a dict of overrides by dotted path (label, value shown and args given separately)."""
    rows = []
    for case in cases:
        option, value, expect = case[:3]
        before = case[3] if len(case) > 3 else "args"
        if isinstance(value, Overrides):
            args = base
            for path, item in value.items.items():
                args = _set(args, path, item)
            shown = value.shown
        else:
            args, shown = _set(base, option, value), value
        rows.append(Row(module, option, shown, args, expect, before))
    return rows


class Overrides:
    """Several options changed at once (``items``: dotted path -> value), shown as ``shown`` in the table."""

    def __init__(self, shown, **items):
        self.shown = shown
        self.items = {path.replace("__", "."): item for path, item in items.items()}


def connection_cases():
    return [
        ("spp_timeout", 0, "spp_timeout must be from 1 to 3600, got 0"),
        ("spp_timeout", -1, "spp_timeout must be from 1 to 3600, got -1"),
        ("spp_timeout", 3601, "spp_timeout must be from 1 to 3600, got 3601"),
        ("vcenter_port", 0, "vcenter_port must be from 1 to 65535, got 0"),
        ("vcenter_port", 70000, "vcenter_port must be from 1 to 65535, got 70000"),
    ]


RANGE = "must be from 1 to 604800, got "

TABLE = {
    "vm_restore": rows_of("vm_restore", {"vm": BACKED_UP, "mode": "clone", "name": BACKED_UP + "_BADIN"}, [
        ("timeout", 0, "timeout " + RANGE + "0"),
        ("timeout", -1, "timeout " + RANGE + "-1"),
        ("timeout", 604801, "timeout " + RANGE + "604801"),
        ("timeout", True, "timeout must be a whole number from 1 to 604800, got a boolean"),
        ("timeout", "ten", "cannot be converted to an int"),
        ("network_map", {"DC0_DVPG0": 5}, "the value of 'DC0_DVPG0' must be a network name"),
        ("network_map", {"DC0_DVPG0": None}, "the value of 'DC0_DVPG0' must be a network name"),
        ("network_map", {"DC0_DVPG0": ["a"]}, "the value of 'DC0_DVPG0' must be a network name"),
        ("network_map", {"DC0_DVPG0": {"a": "b"}}, "the value of 'DC0_DVPG0' must be a network name"),
        ("network_map", {"": "DC0_DVPG0"}, "network_map: the key '' (a string) must be a network name"),
        ("network_map", "VM Network", "network_map"),
        ("datastore_map", {"LocalDS_0": 1}, "the value of 'LocalDS_0' must be a datastore name"),
        ("datastore_map", {"LocalDS_0": ""}, "the value of 'LocalDS_0' must be a datastore name"),
        ("datastore_map", {"LocalDS_0": ["LocalDS_1"]}, "the value of 'LocalDS_0' must be a datastore name"),
        ("mode", "bogus", "value of mode must be one of"),
        ("state", "bogus", "value of state must be one of"),
        ("copy", "tape", "value of copy must be one of"),
        ("recovery_point", {"after": "2026-01-01"}, "recovery_point as a dict takes one key, before"),
        ("recovery_point", {"before": "yesterday"}, "recovery_point.before"),
        ("recovery_point", [1], "recovery_point must be latest, a recovery point id or {before: <time>}"),
        ("recovery_point", True, "recovery_point must be latest, a recovery point id or {before: <time>}"),
        ("mode+name", Overrides("production, name: x", mode="production", name="x", overwrite=True),
         "a production restore keeps the original name"),
        ("mode+state", Overrides("clone, promoted", state="promoted"), "state promoted applies to test restores"),
        ("keep_current+overwrite", Overrides("both true", mode="production", name=DROP, keep_current=True,
                                             overwrite=True), "keep_current and overwrite exclude each other"),
        ("host+cluster", Overrides("both", host="h", cluster="c"), "mutually exclusive"),
        ("restore_id", "CHG-1", "restore_id is the request key of a restore that replaces a VM"),
        ("test_result", "passed", "test_result records the outcome of a test restore"),
        ("skip_if_tested", True, "skip_if_tested applies to mode test with state present"),
        ("vm", None, "vm must be a VM name, moref or instance UUID (a non-empty string)"),
        ("vm", "", "vm must be a VM name, moref or instance UUID (a non-empty string), got a string ('')"),
        ("unknown option", Overrides("retries: 3", retries=3), "Unsupported parameters"),
        ("vm", "NoSuchVm_badin", "NoSuchVm_badin", "server"),
        ("cluster", "NoSuchCluster", "NoSuchCluster", "server"),
        ("host", "no-such-host.example", "no-such-host.example", "server"),
        ("folder", "/DC0/vm/no_such_folder", "vCenter has no VM folder /DC0/vm/no_such_folder", "server"),
        ("network_map", {"NoSuchNet": "DC0_DVPG0"}, "NoSuchNet", "server"),
        ("recovery_point", "999999999", "999999999", "server"),
        ("mode", Overrides("production, no overwrite", mode="production", name=DROP), "overwrite", "server"),
    ] + connection_cases()),
    "vm_backup_policy": rows_of("vm_backup_policy", {"vm": "DC0_H0_VM0", "policies": ["Silver"]}, [
        ("rescan_timeout", 0, "rescan_timeout " + RANGE + "0"),
        ("rescan_timeout", -1, "rescan_timeout " + RANGE + "-1"),
        ("rescan_timeout", True, "rescan_timeout must be a whole number"),
        ("planned_policies", [{"site": "Primary"}], "planned_policies[0] has no name"),
        ("planned_policies", [{"name": 5, "site": "Primary"}], "planned_policies[0].name must be a non-empty string"),
        ("planned_policies", [{"name": "New", "site": ["Primary"]}],
         "planned_policies[0].site must be a non-empty string"),
        ("planned_policies", [{"name": "New", "state": "gone"}], "planned_policies[0].state must be one of present"),
        ("planned_policies", ["Gold"], "planned_policies"),
        ("policies", Overrides("policies without a selector", vm=DROP), "policies needs vm, folder, name_pattern"),
        ("vm", Overrides("a selector without policies", policies=DROP), "policies is required with vm"),
        ("policies", ["Silver", ""], "policy  does not exist on the backup server", "server"),
        ("state", "bogus", "value of state must be one of"),
        ("purge_scope", True, "scope"),
        ("disk", Overrides("disk without vm", vm=DROP, folder="/DC0/vm", disk="Hard disk 1"), "disk"),
        ("enforce", {"no_such_rule": False}, "no_such_rule"),
        ("enforce", {"held_policy": "maybe"}, "held_policy"),
        ("assignments", [{"vm": "DC0_H0_VM0"}], "policies"),
        ("assignments", "DC0_H0_VM0", "dictionary requested"),
        ("vm", "NoSuchVm_badin", "NoSuchVm_badin", "server"),
        ("policies", ["NoSuchPolicy"], "NoSuchPolicy", "server"),
        ("folder", Overrides("/NoSuchDC/vm", vm=DROP, folder="/NoSuchDC/vm"), "/NoSuchDC/vm", "server"),
    ] + connection_cases()),
    "backup_sla_policy": rows_of("backup_sla_policy", {"name": "BadInput", "site": "Secondary",
                                                       "retention": {"days": 7}}, [
        ("retention.days", 0, "retention.days must be from 1 to 36500, got 0"),
        ("retention.days", -1, "retention.days must be from 1 to 36500, got -1"),
        ("retention.days", 36501, "retention.days must be from 1 to 36500, got 36501"),
        ("retention.days", True, "retention.days must be a whole number"),
        ("retention.days", "week", "cannot be converted to an int"),
        ("retention", Overrides("recovery_points: 0", retention={"recovery_points": 0}),
         "retention.recovery_points must be from 1 to 100000, got 0"),
        ("retention", Overrides("{}", retention={}), "one of the following is required: days, recovery_points"),
        ("retention", Overrides("days and recovery_points", retention={"days": 1, "recovery_points": 2}),
         "mutually exclusive"),
        ("retention", Overrides("hours: 4", retention={"days": 1, "hours": 4}), "hours"),
        ("schedule.interval", 0, "schedule.interval must be from 1 to 999, got 0"),
        ("schedule.interval", 1000, "schedule.interval must be from 1 to 999, got 1000"),
        ("schedule.monthdays", [0], "schedule.monthdays[0] must be from 1 to 31, got 0"),
        ("schedule.monthdays", [1, 32], "schedule.monthdays[1] must be from 1 to 31, got 32"),
        ("schedule", Overrides("daily with weekdays", schedule={"every": "daily", "weekdays": ["monday"]}),
         "schedule.weekdays goes with every: weekly"),
        ("schedule.weekdays", ["funday"], "'funday' is not a valid day"),
        ("schedule.start", "tomorrow", "schedule.start"),
        ("schedule.every", "fortnightly", "value of every must be one of"),
        ("state", "bogus", "value of state must be one of"),
        ("name", "", "name must be a policy name (a non-empty string), got a string ('')"),
        ("name", None, "name must be a policy name (a non-empty string)"),
        ("retention_days", 7, "Unsupported parameters"),
        ("site", "NoSuchSite", "NoSuchSite", "server"),
        ("spp_timeout", 0, "spp_timeout must be from 1 to 3600, got 0"),
        ("spp_timeout", -1, "spp_timeout must be from 1 to 3600, got -1"),
    ]),
    "vm_backup_run": rows_of("vm_backup_run", {"vms": [BACKED_UP], "policy": "Gold", "poll_interval": 1}, [
        ("timeout", 0, "timeout " + RANGE + "0"),
        ("timeout", -1, "timeout " + RANGE + "-1"),
        ("timeout", True, "timeout must be a whole number"),
        ("poll_interval", 0, "poll_interval must be from 1 to 3600, got 0"),
        ("poll_interval", 3601, "poll_interval must be from 1 to 3600, got 3601"),
        ("skip_if_backed_up_within", "0h", "skip_if_backed_up_within must be longer than 0"),
        ("skip_if_backed_up_within", "soon", "skip_if_backed_up_within 'soon' is not a duration"),
        ("if_running", "bogus", "value of if_running must be one of"),
        ("vms+policy", Overrides("neither", vms=DROP, policy=DROP), "one of the following is required: vms, policy"),
        ("vms", ["NoSuchVm_badin"], "NoSuchVm_badin", "server"),
        ("policy", "NoSuchPolicy", "NoSuchPolicy", "server"),
    ] + connection_cases()),
    "vm_powerstate": rows_of("vm_powerstate", {"vm": "DC0_H0_VM1", "state": "powered-off"}, [
        ("timeout", 0, "timeout " + RANGE + "0"),
        ("timeout", -1, "timeout " + RANGE + "-1"),
        ("timeout", 604801, "timeout " + RANGE + "604801"),
        ("state", "bogus", "value of state must be one of"),
        ("state", None, "state"),
        ("vm", None, "vm must be a VM name, moref or instance UUID (a non-empty string)"),
        ("vm", " ", "vm must be a VM name, moref or instance UUID (a non-empty string), got a string (' ')"),
        ("vm", "NoSuchVm_badin", "NoSuchVm_badin", "server"),
    ] + connection_cases()),
    "backup_inventory": rows_of("backup_inventory", {"rescan": True}, [
        ("rescan_timeout", 0, "rescan_timeout " + RANGE + "0"),
        ("rescan_timeout", -1, "rescan_timeout " + RANGE + "-1"),
        ("rpo", "0h", "rpo must be longer than 0"),
        ("rpo", "a day", "rpo 'a day' is not a duration"),
        ("include", ["bogus"], "value of include must be one or more of"),
        ("fail_on", ["bogus"], "value of fail_on must be one or more of"),
    ] + connection_cases()),
    "coverage_report": rows_of("coverage_report", {"coverage": COVERAGE, "dest": "DEST"}, [
        ("coverage", {}, "coverage must be the registered result of sovereign.vm_backup.backup_inventory"),
        ("coverage", {"vms": 3, "summary": {}}, "coverage must be the registered result"),
        ("coverage", "report.json", "coverage"),
        ("formats", ["pdf"], "value of formats must be one or more of"),
        ("backed_up_since", "yesterday", "backed_up_since"),
        ("backed_up_before", "2026-13-45", "backed_up_before"),
    ]),
}
INVENTORY = [
    Row("coverage (inventory)", "spp_timeout", 0, {"spp_timeout": 0}, "spp_timeout must be from 1 to 3600, got 0"),
    Row("coverage (inventory)", "spp_timeout", -1, {"spp_timeout": -1}, "spp_timeout must be from 1 to 3600, got -1"),
    Row("coverage (inventory)", "vcenter_port", 0, {"vcenter_port": 0}, "vcenter_port must be from 1 to 65535, got 0"),
    Row("coverage (inventory)", "rpo", "0h", {"rpo": "0h"}, "rpo must be longer than 0"),
    Row("coverage (inventory)", "include", ["bogus"], {"include": ["bogus"]}, "bogus"),
    Row("coverage (inventory)", "hostnames", "bogus", {"hostnames": "bogus"}, "bogus"),
]
ROLES = [
    Row("protected_vm (role)", "protected_vm_backup_timeout", 0,
        {"protected_vm_name": "DC0_H0_VM0", "protected_vm_policies": ["Silver"], "protected_vm_first_backup": True,
         "protected_vm_backup_timeout": 0},
        "must be from 1 to 604800 (seconds)"),
    Row("protected_vm (role)", "protected_vm_rescan_timeout", -5,
        {"protected_vm_name": "DC0_H0_VM0", "protected_vm_policies": ["Silver"], "protected_vm_rescan_timeout": -5},
        "must be from 1 to 604800 (seconds)"),
    Row("restore_production (role)", "restore_production_timeout", 0,
        {"restore_production_vm": BACKED_UP, "restore_production_confirm": True, "restore_production_timeout": 0},
        "timeout " + RANGE + "0"),
    Row("restore_test (role)", "restore_test_timeout", -1,
        {"restore_test_vm": BACKED_UP, "restore_test_timeout": -1}, "timeout " + RANGE + "-1"),
]

# The "args" rows that the integration test runs against the lab as well: those whose input used to change something
# (the connection options once, for one module); the unit test runs every "args" row.
E2E = {
    ("vm_restore", "timeout", 0), ("vm_restore", "timeout", True), ("vm_restore", "network_map", '{"DC0_DVPG0": 5}'),
    ("vm_backup_policy", "spp_timeout", 0), ("vm_backup_policy", "spp_timeout", -1),
    ("vm_backup_policy", "vcenter_port", 0), ("vm_backup_policy", "rescan_timeout", 0),
    ("backup_sla_policy", "retention.days", 0), ("backup_sla_policy", "retention", "recovery_points: 0"),
    ("vm_backup_run", "timeout", 0), ("vm_powerstate", "timeout", 0), ("backup_inventory", "rescan_timeout", 0),
}
for _rows in TABLE.values():
    for _row in _rows:
        _shown = json.dumps(_row.value, sort_keys=True) if isinstance(_row.value, (dict, list)) else _row.value
        _row.e2e = _row.before == "args" and (_row.module, _row.option, _shown) in E2E
ALL_ROWS = [row for rows in TABLE.values() for row in rows] + INVENTORY + ROLES


INVENTORY_FAILURE = "[WARNING]: Failed to parse inventory with 'auto' plugin: "


def _short(message):
    message = str(message or "").rsplit("Module failed: ", maxsplit=1)[-1].rsplit(INVENTORY_FAILURE, maxsplit=1)[-1]
    return message[:110].rstrip() + ("..." if len(message) > 110 else "")


def defect_of(row, found):
    """What the previous commit did with ``row``'s input (``found``: its survey entry), when that was a defect: a
    traceback, a value replaced by another, a bad value accepted (and the changes made with it), or changes made before
    failing; "" when it refused the input without changing anything, or when the value only passes an upper bound
    that issue 14 set (it was valid before)."""
    if not found:
        return ""
    above_new_limit = isinstance(row.value, int) and not isinstance(row.value, bool) and row.value > 1
    message = found["msg"]
    changes = ", ".join(sorted(found["spp_writes"]) + sorted(found["vcenter_writes"]))
    if "Module failed" in message or "Traceback" in message or "Invalid timeout (-1" in message:
        return "a traceback: %s" % _short(message)
    if ":443: " in message:
        return "0 became port 443 silently: %s" % _short(message)
    if not found["failed"]:
        if above_new_limit:
            return ""
        return "accepted; the task ran" + (" and made changes (%s)" % changes if changes else "")
    if changes:
        return "made changes (%s), then failed: %s" % (changes, _short(message))
    return ""


# How the previous commit (before issue 14) handled each row, one row at a time against the lab
# (tests/integration/test_bad_input.py with BAD_INPUT_SURVEY): the evidence for the defect column.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad_input_survey.json"), encoding="utf-8") as _file:
    SURVEY = json.load(_file)
for _row in ALL_ROWS:
    _row.defect = defect_of(_row, SURVEY["rows"].get(_row.key))


def table_text(title, lines):
    """The table as printed at the end of a run: a count line, then one line per row tried (``lines``: ``(row,
    problems)``, problems ``[]`` when the row passed), with what it did before issue 14 when that was a defect."""
    width = {"module": 26, "option": 28, "value": 28, "expect": 58}
    out = ["", "%s: %d inputs tried, %d of them found a defect (fixed since), %d failing now" % (
        title, len(lines), sum(1 for row, _problems in lines if row.defect),
        sum(1 for _row, problems in lines if problems)),
        "%s %s %s %s %-6s %s" % ("module".ljust(width["module"]), "option".ljust(width["option"]),
                                 "value".ljust(width["value"]), "the error says".ljust(width["expect"]), "before",
                                 "now (and before issue 14, when that was a defect)")]
    for row, problems in lines:
        value = row.value if isinstance(row.value, str) else json.dumps(row.value, default=str)
        verdict = "FAILED: " + "; ".join(problems) if problems else "ok"
        if row.defect:
            verdict += " (was: %s)" % row.defect
        cells = [text[:width[name]].ljust(width[name]) for name, text in (
            ("module", row.module), ("option", row.option), ("value", value), ("expect", row.expect))]
        out.append("%s %-6s %s" % (" ".join(cells), row.before, verdict))
    return "\n".join(out) + "\n"
