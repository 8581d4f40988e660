# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile names end to end (issue 14): VMs named with quotes, markup, templates, formulas, CJK, combining marks,
bidi and zero-width characters, a tab, a line break, padding spaces and 80 characters are cloned in vCenter, in a
folder with such a name, next to an SLA policy with such a name. Then backup_inventory rescans, vm_backup_policy
assigns the policy to each VM by name (check, real, check, real, with diff), the backup_report role writes the JSON,
CSV and HTML report, Chromium shows the page, and the coverage inventory plugin lists the hosts. Every name comes back
exactly: from the module results, the backup server's own record (helpers.SppReader), the parsed files, the page's
text and the inventory; no template is rendered and no command runs.

vSphere keeps a VM name to 80 characters, so the longest name is 80 (the simulator takes up to about 250, then fails
on the file name of the VM's configuration); the simulator refuses ``/`` (the classic ``=cmd|' /C calc'!A0`` is here
without it) and, like any vCenter, the control characters XML cannot carry. The names reach Ansible through a vars
file with ``!unsafe`` (extra variables are templates on some ansible-core versions), as a play would take them from a
CMDB.

Generated names (Hypothesis, tests/unit/property/hostile_names.py) are rendered in Chromium too, a few examples in one
browser session, without the lab: tests/unit/property/test_hostile_names.py checks them in the markup only.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import textwrap
import uuid

import pytest

import vcenter
from browser import chromium
from helpers import CONVERGES, changed_pattern, plain

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "property"))

from hypothesis import given  # noqa: E402  pylint: disable=wrong-import-position
from hypothesis import strategies as st  # noqa: E402  pylint: disable=wrong-import-position

from hostile_names import hostile_settings, names  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import coverage_report  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("hostile_names")]  # one set of VMs, built once
ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
ANSIBLE = os.path.join(os.path.dirname(sys.executable), "ansible")
SOURCE_VM = "DC0_H0_VM0"
VM_NAME_LIMIT = 80  # vSphere's limit for a VM name

HOSTILE_VMS = (
    'web "prod"',
    "日本-db",
    "<b>x<b>",
    '<img src=x onerror="window.pwned=1">',
    "<script>window.pwned=1<\\script><!--",
    "{{ 7*7 }}",
    "{% raw %}{{ 6*7 }}{% endraw %}",
    "{{ lookup('pipe', 'touch PWNED_HOSTILE') }}",
    "=cmd|' -C calc'!A0",
    "@SUM(1+1)*cmd|' -C calc'!A0",
    "+1-1",
    "-2",
    "'=quoted formula",
    "caf\u00e9",  # NFC
    "cafe\u0301",  # NFD: looks the same, another name
    "  padded  ",
    "it's [0] (x) {y} ;,|",
    "zero\u200bwidth \u202eevil",
    "\U0001f680 launch \U0001f469\u200d\U0001f4bb",
    "tab\there",
    "line\nbreak",
    ("長い名前-" * 20)[:VM_NAME_LIMIT],
    "stale",  # a group of the inventory plugin: `hosts: stale` must still mean the group
)
GROUP_NAMED = "stale"
HOSTILE_POLICY = '=Gold "EU" {{ 7*7 }} <b>日本<b>'
EVIDENCE = "PWNED_HOSTILE"  # what a rendered name would create in the command's working directory
# What the names with a template would be, rendered (a bare "49" could be anything in an output: the results show that
# the VM named {{ 7*7 }} keeps its name).
RENDERED_FORMS = tuple(sorted({text.replace("{{ 7*7 }}", "49") for text in HOSTILE_VMS + (HOSTILE_POLICY,)
                               if "{{ 7*7 }}" in text} - {"49"}))


# -- running the collection with hostile values ----------------------------------------------------------------------


def yaml_string(text):
    """A YAML double-quoted scalar, every character outside printable ASCII escaped (a raw U+2028 or U+0085 would be a
    line break to YAML)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.append("\\U%08x" % ord(char))
    return '"%s"' % "".join(out)


def unsafe_yaml(value):
    """``value`` as flow YAML where every string is ``!unsafe``: data, never a template, on every ansible-core."""
    if isinstance(value, dict):
        return "{%s}" % ", ".join("%s: %s" % (yaml_string(key), unsafe_yaml(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return "[%s]" % ", ".join(unsafe_yaml(item) for item in value)
    if isinstance(value, str):
        return "!unsafe " + yaml_string(value)
    return json.dumps(value)


PLAY = """---
- name: Hostile names
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files:
    - %(vars)s
  tasks:
    - name: Run the task
      block:
%(tasks)s
      always:
        - name: Save the result
          save_result:
            content: "{{ outcome | to_json }}"
            dest: "{{ results_file }}"
          check_mode: false
"""


def run_play(lab, work, tasks, variables, check=False, expect_rc=0):
    """Run ``tasks`` (YAML, registering ``outcome``) with ``variables`` from a vars file, every string ``!unsafe``;
    return (saved outcome, output). The command runs in ``work``, where a rendered name would leave its evidence."""
    name = uuid.uuid4().hex[:8]
    vars_file = os.path.join(str(work), "vars-%s.yml" % name)
    with open(vars_file, "w", encoding="utf-8") as handle:
        handle.write("---\n%s\n" % unsafe_yaml(variables))
    playbook = os.path.join(str(work), "play-%s.yml" % name)
    with open(playbook, "w", encoding="utf-8") as handle:
        handle.write(PLAY % {"vars": vars_file, "tasks": textwrap.indent(textwrap.dedent(tasks).strip(), " " * 8)})
    cwd = os.getcwd()
    os.chdir(str(work))
    try:
        _rc, output, result = lab.playbook(playbook, check=check, diff=True, expect_rc=expect_rc)
    finally:
        os.chdir(cwd)
    assert result is not None or expect_rc is None, output[-3000:]
    return result, output


def run_module(lab, work, module, module_args, check=False, expect_rc=0):
    tasks = """
        - name: Run %s
          sovereign.vm_backup.%s:
          args: "{{ module_args }}"
          register: outcome
    """ % (module, module)
    return run_play(lab, work, tasks, {"module_args": module_args}, check=check, expect_rc=expect_rc)


def assert_nothing_rendered(work, output=""):
    assert not os.path.exists(os.path.join(str(work), EVIDENCE)), "a name ran a command"
    assert not [form for form in RENDERED_FORMS if form in output], "a name was rendered"


# -- the VMs ----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile(lab_env, tmp_path_factory):
    """The VMs in a folder of their own, the policy, and a working directory. Yields (lab, folder, {name: moref},
    work); removes everything at the end."""
    lab = lab_env
    if lab.emulated:  # what fresh_lab does, once for the module
        lab.admin("DELETE", "/faults")
        lab.admin("POST", "/reset", {"inventory": True})
    work = tmp_path_factory.mktemp("hostile-work")
    folder = '/DC0/vm/hostile "日本" {{ 7*7 }} <i>-%s' % uuid.uuid4().hex[:6]
    with lab.vcenter() as client:
        existing = set(vcenter.all_vm_names(client)) & set(HOSTILE_VMS)
    if existing or HOSTILE_POLICY in lab.spp.sla_policies():  # against real servers: never touch what is not ours
        pytest.skip("the servers already have %s" % ", ".join(sorted(existing) or [HOSTILE_POLICY]))
    assert all(len(name) <= VM_NAME_LIMIT and "/" not in name for name in HOSTILE_VMS)
    morefs = {}
    try:
        with lab.vcenter() as client:
            vcenter.create_folder(client, folder)
            for name in HOSTILE_VMS:
                vm = vcenter.clone_vm(client, SOURCE_VM, name, folder=folder)
                assert vm.name == name, "vCenter keeps the name as given"
                morefs[name] = vcenter.moref(vm)
        run_module(lab, work, "backup_sla_policy", {"name": HOSTILE_POLICY, "site": "Primary",
                                                    "retention": {"days": 7}})
        yield lab, folder, morefs, work
    finally:
        run_module(lab, work, "vm_backup_policy", {"state": "absent", "assignments": [
            {"vm": moref, "policies": [HOSTILE_POLICY]} for moref in morefs.values()]}, expect_rc=None)
        run_module(lab, work, "backup_sla_policy", {"name": HOSTILE_POLICY, "state": "absent"}, expect_rc=None)
        with lab.vcenter() as client:
            for name in morefs:
                vcenter.destroy_vm(client, name)
            vcenter.destroy_folder(client, folder)


def test_inventory_policy_report_and_plugin_keep_every_name(hostile, driver):
    lab, folder, morefs, work = hostile
    assert HOSTILE_POLICY in lab.spp.sla_policies(), "the backup server has the policy by its exact name"

    # backup_inventory with a rescan: the backup server inventories the clones, names intact.
    inventory, output = run_module(lab, work, "backup_inventory", {"rescan": True})
    listed = {vm["moref"]: vm for vm in inventory["vms"] + inventory["vcenter_only"]}
    for name, moref in morefs.items():
        assert listed[moref]["name"] == name and listed[moref]["folder"] == folder
        assert listed[moref]["known_to_backup"], "the rescan made it known"
    on_server = lab.spp.vms()
    assert set(HOSTILE_VMS) <= set(on_server), "the backup server's own record has every name exactly"
    assert {on_server[name]["moref"] for name in HOSTILE_VMS} == set(morefs.values())
    assert_nothing_rendered(work, output)

    # vm_backup_policy by name: check, real, check, real; the diff names each VM exactly.
    args = {"assignments": [{"vm": name, "policies": [HOSTILE_POLICY]} for name in HOSTILE_VMS]}
    results = []
    for check in (True, False, True, False):
        result, output = run_module(lab, work, "vm_backup_policy", args, check=check)
        assert_nothing_rendered(work, output)
        results.append(result)
    assert changed_pattern(results) == CONVERGES
    first = results[0]
    assert sorted(change["vm_name"] for change in first["changes"]) == sorted(HOSTILE_VMS)
    assert all(change["after"] == [HOSTILE_POLICY] for change in first["changes"])
    origins = {change["vm_name"]: change["origins"] for change in first["changes"]}
    for position, name in enumerate(HOSTILE_VMS):
        assert "%s (%s):\n" % (name, morefs[name]) in first["diff"]["after"], name
        assert origins[name] == ["assignments[%d] (vm=%s)" % (position, name)]
    on_server = lab.spp.vms()
    assert {name: on_server[name]["policies"] for name in HOSTILE_VMS} == dict.fromkeys(HOSTILE_VMS, [HOSTILE_POLICY])

    # The backup_report role: JSON, CSV and HTML, parsed back.
    dest = os.path.join(str(work), "report")
    title = "Coverage of %s" % HOSTILE_POLICY
    tasks = """
        - name: Write the report
          ansible.builtin.include_role:
            name: sovereign.vm_backup.backup_report
          vars:
            backup_report_dest: "{{ report_dest }}"
            backup_report_title: "{{ report_title }}"
        - name: Keep the result
          ansible.builtin.set_fact:
            outcome: "{{ backup_report_result }}"
    """
    _result, output = run_play(lab, work, tasks, {"report_dest": dest, "report_title": title})
    assert_nothing_rendered(work, output)
    check_report_files(dest, morefs, folder, title, driver)

    # The coverage inventory plugin: host names, variables, composed variables and groups.
    check_inventory_plugin(lab, work, morefs, folder)


def check_report_files(dest, morefs, folder, title, browser):
    with open(os.path.join(dest, "coverage.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    rows = {vm["moref"]: vm for vm in report["vms"]}
    for name, moref in morefs.items():
        assert rows[moref]["name"] == name and rows[moref]["folder"] == folder
        assert rows[moref]["policies"] == [HOSTILE_POLICY]
    assert HOSTILE_POLICY in report["summary"]["per_policy"]

    with open(os.path.join(dest, "coverage.csv"), encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    header = table[0]
    by_moref = {}
    for row in table[1:]:
        assert not [cell for cell in row if cell.startswith(("=", "+", "-", "@", "\t", "\r"))], row
        cells = {column: (cell[1:] if cell.startswith("'") else cell) for column, cell in zip(header, row)}
        by_moref[cells["moref"]] = cells
    for name, moref in morefs.items():
        assert by_moref[moref]["VM"] == name and by_moref[moref]["folder"] == folder
        assert by_moref[moref]["policies"] == HOSTILE_POLICY

    with open(os.path.join(dest, "coverage.html"), encoding="utf-8") as handle:
        page = handle.read()
    data = json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
                      .group(1))
    assert {vm["moref"]: vm["name"] for vm in data["vms"] if vm["moref"] in morefs.values()} == \
        {moref: name for name, moref in morefs.items()}
    assert data["title"] == title
    shown = page_in_chromium(browser, os.path.join(dest, "coverage.html"), list(morefs))
    assert shown["title"] == " ".join(title.split()), "document.title, whitespace collapsed as HTML does"
    assert shown["h1"] == title


def check_inventory_plugin(lab, work, morefs, folder):
    config = os.path.join(str(work), "hostile.sovereign_coverage.yml")
    with open(config, "w", encoding="utf-8") as handle:
        handle.write(textwrap.dedent("""
            plugin: sovereign.vm_backup.coverage
            compose:
              ansible_host: sovereign_backup_name + '.example.com'
              hostname_as_composed: inventory_hostname
            keyed_groups:
              - key: sovereign_backup_folder
                prefix: folder
        """))
    stdout, stderr = run_command(lab, work, [ANSIBLE_INVENTORY, "-i", config, "--list"])
    assert_nothing_rendered(work, stdout + stderr)
    data = plain(json.loads(stdout))
    hostvars = data.pop("_meta")["hostvars"]
    host_of = {variables["sovereign_backup_moref"]: host for host, variables in hostvars.items()}
    groups = {name: sorted(group.get("hosts", [])) for name, group in data.items()}
    policy_group = [name for name in groups if name.startswith("policy_") and set(groups[name]) >= set(
        host_of[moref] for moref in morefs.values())]
    assert len(policy_group) == 1, "one group holds the VMs of the hostile policy: %s" % policy_group
    for name, moref in morefs.items():
        host = host_of[moref]
        assert host == (name if name != GROUP_NAMED else "%s_%s" % (name, moref)), "the VM name is the host name"
        variables = hostvars[host]
        assert variables["sovereign_backup_name"] == name and variables["sovereign_backup_folder"] == folder
        assert variables["sovereign_backup_policies"] == [HOSTILE_POLICY]
        assert variables["ansible_host"] == name + ".example.com", "compose saw the literal name"
        assert variables["hostname_as_composed"] == host
    folder_groups = [name for name, hosts in groups.items() if name.startswith("folder_") and hosts == sorted(
        host_of[moref] for moref in morefs.values())]
    assert len(folder_groups) == 1, "keyed_groups made one group of the hostile folder"

    # The VM named like the group is another host: the pattern still means the whole group (Ansible reads a pattern
    # that names a host and a group as the host).
    renamed = "%s_%s" % (GROUP_NAMED, morefs[GROUP_NAMED])
    assert "%s is a group of this inventory" % GROUP_NAMED in " ".join(stderr.split()) and renamed in stderr
    assert renamed in groups[GROUP_NAMED] and len(groups[GROUP_NAMED]) >= len(HOSTILE_VMS), "never backed up: stale"
    listed, _stderr = run_command(lab, work, [ANSIBLE, "-i", config, GROUP_NAMED, "--list-hosts"])
    assert re.search(r"hosts \((\d+)\):", listed).group(1) == str(len(groups[GROUP_NAMED])), listed


def run_command(lab, work, argv):
    completed = subprocess.run(argv, cwd=str(work), capture_output=True, text=True, timeout=600, check=False,
                               env=lab.command_env({"ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}))
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-6000:]
    return completed.stdout, completed.stderr


# -- Chromium -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def driver():
    """One headless Chromium for the module (``browser.chromium``)."""
    with chromium() as browser:
        yield browser


# What the page shows of each VM row, read from the DOM as text (textContent, exactly as set).
ROWS_SCRIPT = """
return {
  ready: document.body.getAttribute('data-ready'), title: document.title,
  h1: document.getElementById('title').textContent,
  scripts: document.scripts.length, images: document.images.length, pwned: window.pwned === undefined ? null : 1,
  elements: document.querySelectorAll('body *').length,
  rows: Array.from(document.querySelectorAll('#vm-table tbody tr'), r => ({
    data: r.getAttribute('data-name'), name: r.querySelector('.vm-name') && r.querySelector('.vm-name').textContent,
    folder: r.querySelector('.sub') && r.querySelector('.sub').textContent,
    policies: Array.from(r.querySelectorAll('[data-col=policies] .badge'), b => b.textContent)})),
  policies: Array.from(document.querySelectorAll('#policy-table tbody th'), th => th.textContent)
};
"""


def page_in_chromium(browser, path, expected_names):
    """Open the report page and return what it shows; assert that the names are text and nothing of them ran."""
    browser.get("file://" + path)
    shown = browser.execute_script(ROWS_SCRIPT)
    assert shown["ready"] == "true", "the page's script ran to its end"
    assert shown["scripts"] == 2 and shown["images"] == 0 and shown["pwned"] is None, "no name became markup"
    names_shown = [row["name"] for row in shown["rows"]]
    for name in expected_names:
        assert name in names_shown, "%r is shown as text" % name
        assert all(row["data"] == name for row in shown["rows"] if row["name"] == name)
    return shown


def vm_record(number, name, folder, policy):
    return {"name": name, "moref": "vm-%d" % number, "instance_uuid": "u-%d" % number, "known_to_backup": True,
            "power_state": "poweredOn", "folder": folder, "policies": [policy], "disks": [], "disk_policies": [],
            "held_policies": [], "last_backup": None, "last_backup_policy": None, "flags": ["stale"],
            "reasons": {"stale": "never backed up, although %s is assigned." % policy}, "compliant": False}


@hostile_settings(max_examples=12)
@given(st.lists(names(), min_size=1, max_size=5), names(), names(), names())
def test_generated_names_render_as_text_in_chromium(driver, tmp_path_factory, vm_names, folder, policy, title):
    """Generated names (and a folder, a policy and a title) in one page: Chromium shows each as text, exactly."""
    records = [vm_record(number, name, folder, policy) for number, name in enumerate(vm_names, 1)]
    summary = {"flags": dict.fromkeys(coverage_report.FLAGS, 0),
               "per_policy": {policy: {"vms": len(records), "held": False}},
               "rpo": "24h", "rpo_seconds": 86400, "generated_at": "2026-11-22T02:11:10Z", "jobs": None}
    report = coverage_report.build_report({"vms": records, "vcenter_only": [], "spp_only": [], "summary": summary})
    path = tmp_path_factory.mktemp("generated") / "coverage.html"
    path.write_text(coverage_report.render_html(report, title=title), encoding="utf-8")
    shown = page_in_chromium(driver, str(path), vm_names)
    assert sorted(row["data"] for row in shown["rows"]) == sorted(vm_names)
    assert all(row["policies"] == [policy] for row in shown["rows"])
    assert all(row["folder"].startswith(folder) for row in shown["rows"])
    assert shown["policies"] == [policy]
    assert shown["h1"] == as_html_text(title), "the title is markup (escaped), which HTML parsing normalises"


def as_html_text(text):
    """What HTML parsing makes of ``text`` escaped in markup: line ends become LF, NUL characters are dropped. (The
    VM data travels as JSON and is set with textContent: it keeps every character.)"""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
