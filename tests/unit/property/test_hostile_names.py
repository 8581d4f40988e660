# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile names through the collection's pure code, as Hypothesis properties (issue 14).

Generated VM, policy, folder, datacenter, disk, site and tag names (see hostile_names.py) go from the servers'
listings through the join, the assignment planner and its rules, the coverage report (JSON, CSV and HTML) and the
inventory plugin's hosts, groups and variables. Every output gives the names back exactly: JSON loads to the same
names, the CSV parses to them (after the formula guard's apostrophe, and no cell starts like a formula), the HTML keeps
them as data that cannot close its element, and the inventory's values are never rendered as templates. Each test is
deterministic (``derandomize``) and bounded; the whole file runs in well under a minute. Chromium renders a sample of
these names in tests/integration/test_hostile_names.py.
"""

from __future__ import annotations

import copy
import csv
import fnmatch
import glob
import io
import json
from html.parser import HTMLParser

from hypothesis import example, given
from hypothesis import strategies as st

from ansible import constants as C
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible.utils.unsafe_proxy import wrap_var
from ansible_collections.sovereign.vm_backup.plugins.inventory import coverage as inventory_plugin
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, RuleViolation
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import assignment_plan
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import coverage_model
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import coverage_report
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import inventory_join
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import rules
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import assignments

from hostile_names import VC_UUID, estates, hostile_settings, names

try:  # ansible-core 2.19 and later render only the strings trusted as templates
    from ansible.template import trust_as_template
except ImportError:  # before 2.19 every string that is not marked unsafe is a template
    def trust_as_template(value):
        return value

NOW_MS = 1_800_000_000_000
RPO_SECONDS = 86400
INCLUDE = {"disks", "jobs"}
# What the CSV's formula guard looks at (coverage_report._FORMULA_STARTS, written out: the test says what it expects).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NAME_COLUMNS = {"VM": "name", "moref": "moref", "folder": "folder", "datacenter": "datacenter", "cluster": "cluster",
                "host": "host", "last backup policy": "last_backup_policy"}


# -- the pipeline, as the modules run it ------------------------------------------------------------------------------


def joined(estate):
    """``(vms, vcenter_only, spp_only)`` as backup_inventory and vm_backup_policy join them."""
    return inventory_join.join_inventories(VC_UUID, copy.deepcopy(estate["vcenter_vms"]), estate["hypervisors"],
                                           copy.deepcopy(estate["spp_vms"]), copy.deepcopy(estate["spp_disks"]))


def coverage_of(estate):
    """backup_inventory's result for the estate, as a task registers it (through JSON)."""
    vms, vcenter_only, spp_only = joined(estate)
    coverage_model.assess(vms, vcenter_only, estate["last_backups"], estate["held"], NOW_MS, RPO_SECONDS, INCLUDE)
    summary = coverage_model.summarize(vms, vcenter_only, spp_only, estate["held"], INCLUDE, "24h", RPO_SECONDS,
                                       NOW_MS, [])
    result = {"vms": vms, "vcenter_only": vcenter_only, "spp_only": spp_only, "summary": summary, "changed": False,
              "rescanned": False}
    return json.loads(json.dumps(result))


def vcenter_names(estate):
    return {vm["moref"]: vm["name"] for vm in estate["vcenter_vms"]}


# -- planning and rules -----------------------------------------------------------------------------------------------


@st.composite
def assignment_items(draw, estate):
    """vm_backup_policy's ``assignments``: by VM name or moref, folder, tag or an escaped name pattern, each with
    policies of the server (and sometimes one it does not have) and sometimes a disk label."""
    vms = estate["vcenter_vms"]
    catalog = [policy["name"] for policy in estate["policies"]]
    items = []
    for _index in range(draw(st.integers(1, 4))):
        vm = draw(st.sampled_from(vms))
        kind = draw(st.sampled_from(("name", "name", "moref", "folder", "tag", "name_pattern")))
        if kind == "tag" and not estate["tagged"]:
            kind = "name"
        item = {
            "name": {"vm": vm["name"]}, "moref": {"vm": vm["moref"]}, "folder": {"folder": vm["folder"]},
            "tag": {"tag": draw(st.sampled_from(sorted(estate["tagged"] or [""])))},
            "name_pattern": {"name_pattern": glob.escape(vm["name"])},
        }[kind]
        item["policies"] = sorted(draw(st.sets(st.sampled_from(catalog), max_size=3)))
        if not draw(st.integers(0, 6)):
            item["policies"].append(draw(names()))  # a policy the server does not have
        if kind in ("name", "moref") and vm["disks"] and draw(st.booleans()):
            item["disk"] = draw(st.sampled_from([disk["label"] for disk in vm["disks"]]))
        items.append(item)
    return items


def expected_morefs(item, records, tagged):
    """What an item designates, computed here without the collection's selection code."""
    if "vm" in item:
        return {r["moref"] for r in records if item["vm"] in (r["name"], r["moref"], r["instance_uuid"])}
    if "folder" in item:
        return {r["moref"] for r in records if r["folder"] == item["folder"] or r["folder"].startswith(item["folder"] + "/")}
    if "tag" in item:
        return set(tagged.get(item["tag"], ()))
    return {r["moref"] for r in records if fnmatch.fnmatchcase(r["name"], item["name_pattern"])}


def current_of(estate, records):
    held = {name for name, is_held in estate["held"].items() if is_held}
    return assignments.build_current(records, estate["policies"], held, estate["sites"])


@hostile_settings(max_examples=120)
@given(st.data())
def test_planning_and_rules_keep_every_name_exact(data):
    estate = data.draw(estates())
    vms, vcenter_only, _spp_only = joined(estate)
    records = vms + vcenter_only
    current = current_of(estate, records)
    names_by_moref = vcenter_names(estate)
    items = data.draw(assignment_items(estate))
    try:
        intents = assignments.expand_assignments(items, records, estate["tagged"])
    except InvalidRequest as error:  # only a name that several VMs share (or a tag on no VM) is refused
        for problem in error.details["problems"]:
            assert "cannot be resolved" in error.message and problem in error.message
        shared = [item for item in items if "vm" in item and len(expected_morefs(item, records, {})) > 1]
        empty = [item for item in items if not expected_morefs(item, records, estate["tagged"])]
        assert shared or empty, error.message
        for item in shared:
            assert all(moref in error.message for moref in expected_morefs(item, records, {})), "the candidates"
        return
    designated = {}
    for position, item in enumerate(items):
        origin = "assignments[%d] " % position
        found = {intent["vm"] for intent in intents if intent["origin"].startswith(origin)}
        assert found == expected_morefs(item, records, estate["tagged"]), (item, found)
        for key in ("vm", "folder", "tag", "name_pattern"):
            if key in item:  # the origin quotes the selector as the user wrote it
                assert all("%s=%s" % (key, item[key]) in i["origin"] for i in intents if i["origin"].startswith(origin))
        for moref in found:
            designated.setdefault((moref, item.get("disk")), set()).update(item["policies"])

    purge = data.draw(st.booleans())
    plan = assignment_plan.plan_assignments(current, intents, "present", purge=purge)
    known = set(current["policies"])
    for change in plan["changes"]:
        vm = current["vms"][change["vm"]]
        assert change["vm_name"] == names_by_moref[change["vm"]] == vm["name"], "the name as vCenter has it"
        before = set(vm["policies"] if change["disk"] is None else vm["disks"][change["disk"]]["policies"])
        wanted = designated[(change["vm"], change["disk"])]
        assert change["before"] == sorted(before)
        assert set(change["after"]) == (wanted if purge else before | wanted), "names are compared exactly"
    assert plan["unknown_policies"] == sorted({p for names_ in designated.values() for p in names_} - known
                                              | {p for c in plan["changes"] for p in c["after"]} - known)
    assert json.loads(json.dumps(plan)) == plan

    # The predicted end state gives a plan with nothing left to do (idempotence), whatever the names.
    after = assignment_plan.apply_plan(current, plan)
    again = assignment_plan.plan_assignments(after, intents, "present", purge=purge)
    assert again["changes"] == [] and again["batches"] == []

    # The diff shows each changed VM under its exact name, and every policy of the new sets.
    diff = assignment_plan.diff_of(plan, current)
    for change in plan["changes"]:
        header = "%s (%s):\n" % (change["vm_name"], change["vm"])
        assert header in diff["before"] and header in diff["after"]
        assert all(name in diff["after"] for name in change["after"])

    # Rules name each VM and disk exactly; the error carries every one of them.
    violations = rules.check_assignment_rules(current, plan)
    for violation in violations:
        assert violation["vm"] == names_by_moref[violation["moref"]]
        assert violation["disk"] is None or violation["disk"] in current["vms"][violation["moref"]]["disks"]
    if violations:
        message = RuleViolation(violations).message
        for violation in violations:
            target = violation["vm"] + (" / %s" % violation["disk"] if violation["disk"] else "")
            assert "] %s: " % target in message

    # state=absent takes away exactly the listed names.
    removal = assignment_plan.plan_assignments(current, intents, "absent")
    for change in removal["changes"]:
        assert set(change["removed"]) == set(change["before"]) & designated[(change["vm"], change["disk"])]


@hostile_settings(max_examples=60)
@given(estates())
def test_power_on_rules_name_the_vms_exactly(estate):
    vms, vcenter_only, _spp_only = joined(estate)
    current = current_of(estate, vms + vcenter_only)
    names_by_moref = vcenter_names(estate)
    try:
        rules.ensure_power_on_allowed(current, sorted(current["vms"]))
    except RuleViolation as error:
        for violation in error.violations:
            assert violation["vm"] == names_by_moref[violation["moref"]]
            assert "] %s: " % violation["vm"] in error.message


# -- the coverage report ------------------------------------------------------------------------------------------


def undo_formula_guard(cell):
    """A CSV cell back to the value. The report puts an apostrophe before a value that a spreadsheet would run, and
    before a value that starts with an apostrophe: a leading apostrophe is always the guard's."""
    return cell[1:] if cell.startswith("'") else cell


class Page(HTMLParser):
    """The page as an HTML parser reads it: its tags in order, the text of <title> and <h1>, the scripts' text."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.text, self._open = [], {}, []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs).get("id")))
        self._open.append((tag, dict(attrs).get("id")))

    def handle_endtag(self, tag):
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if self._open:
            key = self._open[-1]
            self.text[key] = self.text.get(key, "") + data


def report_page_shape():
    """The tags of a page with nothing hostile in it: every page has the same, whatever the data."""
    tame = {"vms": [], "vcenter_only": [], "spp_only": [], "summary": coverage_model.summarize(
        [], [], [], {}, INCLUDE, "24h", RPO_SECONDS, NOW_MS, [])}
    return Page(coverage_report.render_html(coverage_report.build_report(tame), title="Coverage")).tags


PAGE_SHAPE = report_page_shape()


def csv_rows(report):
    return list(csv.reader(io.StringIO(coverage_report.render_csv(report), newline="")))


@hostile_settings(max_examples=300)
@given(names())
@example("=cmd|' /C calc'!A0")
@example("'=1+1")
@example("'")
@example("''@x")
@example("@SUM(A1:A2)")
@example("-2+3")
@example("\t=1")
@example("\r\n=1")
def test_a_csv_cell_gives_any_name_back_and_never_starts_like_a_formula(name):
    record = {"name": name, "moref": name, "folder": name, "datacenter": name, "cluster": name, "host": name,
              "last_backup_policy": name, "policies": [name], "held_policies": [name], "flags": [], "reasons": {}}
    header, row = csv_rows({"vms": [record]})
    cells = dict(zip(header, row))
    assert not [cell for cell in row if cell.startswith(FORMULA_STARTS)], row
    for column in NAME_COLUMNS:
        assert undo_formula_guard(cells[column]) == name, column
    assert undo_formula_guard(cells["policies"]) == name


@hostile_settings(max_examples=120)
@given(estates(), names(), st.data())
def test_report_json_csv_and_html_give_the_names_back(estate, title, data):
    coverage = coverage_of(estate)
    every = coverage["vms"] + coverage["vcenter_only"]
    catalog = sorted(coverage["summary"]["per_policy"])
    selected = sorted(data.draw(st.sets(st.sampled_from(catalog), max_size=2))) if catalog else []
    report = coverage_report.build_report(coverage, policies=selected or None)
    kept = [r for r in every if not selected or (set(r["policies"]) | set(r["disk_policies"])) & set(selected)]
    assert sorted(r["moref"] for r in report["vms"]) == sorted(r["moref"] for r in kept), "exact policy names"
    assert [(r["name"], r["moref"]) for r in report["vms"]] == sorted((r["name"], r["moref"]) for r in kept)

    # JSON: the same document, every name included.
    text = coverage_report.render_json(report)
    assert json.loads(text) == report

    # CSV: RFC 4180 that the csv module reads back to the same names; no cell starts like a formula.
    rows = list(csv.reader(io.StringIO(coverage_report.render_csv(report), newline="")))
    assert rows[0] == list(coverage_report.CSV_COLUMNS) and len(rows) == len(report["vms"]) + 1
    for vm, row in zip(report["vms"], rows[1:]):
        cells = dict(zip(rows[0], row))
        assert not [cell for cell in row if cell.startswith(FORMULA_STARTS)], row
        for column, key in NAME_COLUMNS.items():
            assert undo_formula_guard(cells[column]) == ("" if vm[key] is None else vm[key]), column
        assert undo_formula_guard(cells["policies"]) == ";".join(vm["policies"])
        assert undo_formula_guard(cells["held policies"]) == ";".join(vm["held_policies"])

    # HTML: the page has its own tags only; the names travel as JSON that cannot end its element, and come back.
    page_text = coverage_report.render_html(report, title=title)
    page = Page(page_text)
    assert page.tags == PAGE_SHAPE, "no name became markup"
    assert page.text.get(("title", None), "") == title and page.text.get(("h1", "title"), "") == title
    payload = page.text[("script", "report-data")]
    assert not set(payload) & set("<>&"), "nothing in the data can close the script element or open a comment"
    shown = json.loads(payload)
    assert shown == json.loads(json.dumps(coverage_report.html_payload(report, title)))
    assert [row["name"] for row in shown["vms"]] == [vm["name"] for vm in report["vms"]]
    assert [row["folder"] for row in shown["vms"]] == [vm["folder"] for vm in report["vms"]]
    assert sorted(shown["summary"]["per_policy"]) == sorted(report["summary"]["per_policy"])

    # The re-run check of coverage_report reads its own files back, whatever the names.
    for fmt in coverage_report.FORMATS:
        rendered = coverage_report.render(report, fmt, title)
        later = copy.deepcopy(report)
        later["summary"]["generated_at"] = "2030-01-01T00:00:00Z"
        assert coverage_report.comparable(fmt, rendered) is not None
        if fmt != "csv":
            assert coverage_report.comparable(fmt, rendered) == coverage_report.comparable(
                fmt, coverage_report.render(later, fmt, title)), "only the generation time differs"

    # backup_inventory's gate lists every VM with a flag, by its exact name.
    try:
        coverage_model.gate(coverage["vms"], coverage["vcenter_only"], coverage_model.FLAGS, coverage["summary"])
    except coverage_model.CoverageGateFailed as error:
        assert error.details["failed_vms"] == sorted({r["name"] for r in every if r["flags"]})
    else:
        assert not [r for r in every if r["flags"]]


# -- the inventory plugin -------------------------------------------------------------------------------------------


def is_safe_group_name(name):
    return not C.INVALID_VARIABLE_NAMES.findall(name)


@hostile_settings(max_examples=150)
@given(estates(), st.sampled_from(("name", "name", "moref", "instance_uuid")),
       st.one_of(st.just(""), st.just("backup_"), names(max_size=20)))
def test_inventory_hosts_groups_and_variables_keep_the_names(estate, hostnames, prefix):
    coverage = coverage_of(estate)
    source = inventory_plugin.inventory_source(coverage)
    assert json.loads(json.dumps(source)) == source, "the cache keeps it as JSON"
    built = inventory_plugin.build_inventory(source, hostnames, prefix)
    records = source["vms"]
    hosts = built["hosts"]
    assert len(hosts) == len(records) == len(estate["vcenter_vms"]), "one host per VM: none hides another"
    by_moref = {variables["sovereign_backup_moref"]: host for host, variables in hosts.items()}
    # Not a host name: what Ansible reserves, and the groups (a host pattern naming both means the host alone).
    reserved = inventory_plugin.reserved_host_names() | set(built["groups"])
    shared = {r[hostnames] for r in records if [o[hostnames] for o in records].count(r[hostnames]) > 1}
    for record in records:
        host = by_moref[record["moref"]]
        variables = hosts[host]
        assert variables["sovereign_backup_name"] == record["name"]
        assert variables["sovereign_backup_folder"] == record["folder"]
        assert variables["sovereign_backup_policies"] == record["policies"]
        if record[hostnames] not in shared and record[hostnames] not in reserved:
            assert host == record[hostnames], "a name kept exactly: spaces, marks and all"
        else:
            assert host.startswith(record[hostnames] + "_" + record["moref"])
            assert host in (built["duplicates"].get(record[hostnames], []) + built["reserved"].get(record[hostnames], [])
                            + built["named_like_groups"].get(record[hostnames], [])), "with a warning"
        assert host not in reserved

    # Groups: valid names whatever the policy names, one group per policy, each VM in its policies' groups.
    groups = built["groups"]
    assert all(is_safe_group_name(group) for group in groups), [g for g in groups if not is_safe_group_name(g)]
    labels = set(source["flags_read"]) | {"compliant"} | {"policy_" + p for p in source["policies"]}
    labels |= {label for record in records for label in inventory_plugin.group_labels(record)}
    group_of, _collisions = inventory_plugin.distinct_group_names(labels, prefix)
    assert len(set(group_of.values())) == len(labels), "no two policies share a group"
    assert set(groups) == set(group_of.values())
    assert not set(hosts) & set(groups), "a host named like a group would take its place in host patterns"
    for record in records:
        host = by_moref[record["moref"]]
        for policy in set(record["policies"]) | set(record["disk_policies"]):
            assert host in groups[group_of["policy_" + policy]]
        for flag in record["flags"]:
            assert host in groups[group_of[flag]]
        assert (host in groups[group_of["compliant"]]) is record["compliant"]


@hostile_settings(max_examples=60)
@given(estates(max_vms=4))
def test_inventory_names_and_values_are_never_rendered(estate):
    """What the plugin hands to Ansible (hostnames as _marked_hostname makes them, variables through wrap_var), seen
    through a template as compose and every later play sees it: literal, ``{{ }}`` and ``{% %}`` included."""
    built = inventory_plugin.build_inventory(inventory_plugin.inventory_source(coverage_of(estate)))
    loader = DataLoader()
    for hostname, variables in built["hosts"].items():
        marked = dict(wrap_var(variables), inventory_hostname=inventory_plugin.InventoryModule._marked_hostname(hostname),
                      probe=trust_as_template("{{ 6 * 7 }}"))
        templar = Templar(loader=loader, variables=marked)
        assert str(templar.template(trust_as_template("{{ probe }}"))) == "42", "this templar does render templates"
        assert templar.template(trust_as_template("{{ inventory_hostname }}")) == hostname
        assert templar.template(trust_as_template("{{ sovereign_backup_name }}")) == variables["sovereign_backup_name"]
        assert templar.template(trust_as_template("{{ sovereign_backup_folder }}")) == variables["sovereign_backup_folder"]
        joined_policies = templar.template(trust_as_template("{{ sovereign_backup_policies | join('|') }}"))
        assert joined_policies == "|".join(variables["sovereign_backup_policies"])
        assert templar.template(trust_as_template("{{ sovereign_backup_reasons }}")) == variables["sovereign_backup_reasons"]
