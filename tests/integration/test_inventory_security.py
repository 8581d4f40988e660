# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The coverage inventory plugin with hostile names from vCenter and the backup server (issue 10).

VMs named like templates (``{{ 7*7 }}``, ``{{ lookup('pipe', ...) }}``, and a ``#jinja2:`` header without any brace)
and a VM named ``localhost`` are cloned in the lab; ansible-inventory and ansible-playbook then run with compose,
groups and keyed_groups over those names. Every name stays literal, in the host names, the variables, the composed
variables and groups and in a play; no command runs on the controller; the VM named ``localhost`` does not replace
Ansible's localhost, so ``delegate_to: localhost`` still runs on the controller. Two SLA policies whose names make
the same group name (``Gold-EU``, ``Gold.EU``) get distinct groups and a warning.

ansible-core before 2.19 renders every string that is not marked unsafe, so these tests fail there on a plugin that
does not mark the names; ansible-core 2.19 and later never trust them. Run the file under each:
``/path/to/venv/bin/python -m pytest tests/integration/test_inventory_security.py``, the ansible commands are taken
next to that interpreter.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import uuid

import pytest

import vcenter
from helpers import plain

pytestmark = [pytest.mark.integration, pytest.mark.smoke,  # in `make matrix` too: it matters most before 2.19
              pytest.mark.xdist_group("inventory_security")]  # one set of VMs, built once
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

# The names of issue 10, and two that would touch a file in the command's working directory if they were rendered
# (the vSphere simulator does not take a "/" in a name, so the file is named relative to the working directory).
SQUARE = "{{ 7*7 }}"
LOCALHOST = "localhost"
ECHO = "{{ lookup('pipe', 'echo PWNED-$(id -u)') }}"
TOUCH = "{{ lookup('pipe', 'touch PWNED_FILE') }}"
# No brace at all: ansible-core before 2.19 still renders it, as the "#jinja2:" header sets other delimiters, so a
# plugin that marked only the strings with a "{" would run it. (A real vCenter keeps VM names to 80 characters; the
# simulator takes this one, and other strings the servers return may be longer.)
HEADER = ("#jinja2:variable_start_string:'<',variable_end_string:'>',"
          """x:'<lookup(*"pipe|touch PWNED_HEADER".split("|"))>'!""")
TEMPLATE_NAMES = (SQUARE, ECHO, TOUCH, HEADER)
HOSTILE = TEMPLATE_NAMES + (LOCALHOST,)
EVIDENCE = ("PWNED_FILE", "PWNED_HEADER")  # files a rendered name would create
RENDERED = re.compile(r"49\.example\.com|PWNED-\d")  # what a rendered name would give: 49, PWNED-<uid>
# Made the same group name, policy_Gold_EU; the groups documented instead: the first 8 hexadecimal digits of the
# SHA-256 of policy_<name>.
POLICY_GROUPS = {"Gold-EU": "policy_Gold_EU_8a50eb47", "Gold.EU": "policy_Gold_EU_2297b5de"}


def config_text(folder, cache=None):
    """The plugin's documented compose example, and groups and keyed groups over the names."""
    text = textwrap.dedent("""
        plugin: sovereign.vm_backup.coverage
        compose:
          ansible_host: sovereign_backup_name + '.example.com'
          name_as_composed: sovereign_backup_name
          hostname_as_composed: inventory_hostname
          policies_as_composed: sovereign_backup_policies
        groups:
          security_test: sovereign_backup_folder == '%s'
          named_like_a_template: sovereign_backup_name.startswith('{') or sovereign_backup_name.startswith('#')
          named_localhost: sovereign_backup_name == 'localhost'
        keyed_groups:
          - key: sovereign_backup_name
            prefix: name
    """ % folder)
    if cache:
        text += "cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\n" % cache
    return text


def run(lab, argv, cwd, env=None):
    """Run an ansible command in ``cwd`` against the lab (``env`` as for command_env); return (stdout, stderr) after
    checking that it passed."""
    run_env = lab.command_env(dict({"ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}, **(env or {})))
    completed = subprocess.run(argv, cwd=str(cwd), env=run_env, capture_output=True, text=True, timeout=600,
                               check=False)
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-6000:]
    return completed.stdout, completed.stderr


def listing(lab, config, cwd):
    """``ansible-inventory --list``: ({group: sorted hosts}, {host: variables}, stdout + stderr, the raw JSON)."""
    stdout, stderr = run(lab, [ANSIBLE_INVENTORY, "-i", str(config), "--list"], cwd)
    raw = json.loads(stdout)
    data = plain(raw)
    hostvars = data.pop("_meta")["hostvars"]
    groups = {name: sorted(group.get("hosts", [])) for name, group in data.items()}
    return groups, hostvars, stdout + stderr, raw


def safe_group(name):
    """A group name as ansible-core's inventory plugins make it: every character but letters, digits and _ is _."""
    return re.sub(r"\W", "_", name)


def assert_nothing_rendered(cwd, output):
    assert not [name for name in EVIDENCE if os.path.exists(os.path.join(str(cwd), name))], "a command ran"
    assert not RENDERED.findall(output), "a name was rendered"


@pytest.fixture(scope="module")
def hostile(lab_env):
    """The VMs with hostile names, in a folder of their own and known to the backup server; SQUARE on Gold-EU and
    LOCALHOST on Gold.EU. Yields (lab, folder, {name: moref}); removes all of it at the end."""
    lab = lab_env
    if lab.emulated:  # what fresh_lab does, once for the module
        lab.admin("DELETE", "/faults")
        lab.admin("POST", "/reset", {"inventory": True})
    folder = "/DC0/vm/security-%s" % uuid.uuid4().hex[:6]
    assignments = [{"vm": SQUARE, "policies": ["Gold-EU"]}, {"vm": LOCALHOST, "policies": ["Gold.EU"]}]
    existing = set(lab.spp.sla_policies()) & set(POLICY_GROUPS)
    with lab.vcenter() as client:
        existing |= set(vcenter.all_vm_names(client)) & set(HOSTILE)
    if existing:  # against real servers: never touch what is not the test's own
        pytest.skip("the servers already have %s" % ", ".join(sorted(existing)))
    morefs = {}
    try:
        with lab.vcenter() as client:
            vcenter.create_folder(client, folder)
            for name in HOSTILE:
                morefs[name] = vcenter.moref(vcenter.clone_vm(client, "DC0_H0_VM0", name, folder=folder))
        for policy in POLICY_GROUPS:
            lab.module("backup_sla_policy", {"name": policy, "site": "Primary", "retention": {"days": 7}})
        # By moref, as in the extra variables of ansible-core before 2.19 the names would be templates; rescan: the
        # backup server inventories vCenter first, as the clones are new to it.
        lab.module("vm_backup_policy", {"rescan": True, "assignments": [
            dict(item, vm=morefs[item["vm"]]) for item in assignments]})
        yield lab, folder, morefs
    finally:
        if set(morefs) >= {SQUARE, LOCALHOST}:  # a policy can only go once no VM holds it
            lab.module("vm_backup_policy", {"state": "absent", "assignments": [
                dict(item, vm=morefs[item["vm"]]) for item in assignments]}, expect_rc=None)
        for policy in POLICY_GROUPS:
            lab.module("backup_sla_policy", {"name": policy, "state": "absent"}, expect_rc=None)
        with lab.vcenter() as client:
            for name in morefs:
                vcenter.destroy_vm(client, name)
            vcenter.destroy_folder(client, folder)


@pytest.fixture
def work(tmp_path):
    """The commands' working directory, one per test: a file that a rendered name creates there fails that test."""
    return tmp_path


def hosts_by_moref(hostvars):
    return {variables["sovereign_backup_moref"]: host for host, variables in hostvars.items()}


def inventory_host(name, morefs):
    """The inventory hostname of the VM ``name``: the name itself, but <name>_<moref> for the VM named localhost."""
    return "%s_%s" % (name, morefs[name]) if name == LOCALHOST else name


def test_names_stay_literal_in_hosts_variables_compose_and_groups(hostile, work):
    lab, folder, morefs = hostile
    config = work / "literal.sovereign_coverage.yml"
    config.write_text(config_text(folder))
    groups, hostvars, output, raw = listing(lab, config, work)
    assert_nothing_rendered(work, output)

    # Only the names that could be templates are marked in the host lists; the others are plain strings there, as
    # the tools that read those lists expect (ansible-core before 2.19 writes a marked one as {"__ansible_unsafe": }).
    marked = {host["__ansible_unsafe"] for group in raw.values() for host in group.get("hosts", [])
              if isinstance(host, dict)}
    assert marked <= set(TEMPLATE_NAMES)
    host_of = hosts_by_moref(hostvars)
    for name in TEMPLATE_NAMES:
        host = host_of[morefs[name]]
        assert host == name, "a name that looks like a template is the host name, literally"
        variables = hostvars[host]
        assert variables["sovereign_backup_name"] == name
        assert variables["ansible_host"] == name + ".example.com", "compose saw the literal name"
        assert variables["name_as_composed"] == name
        assert variables["hostname_as_composed"] == name, "compose saw inventory_hostname literally"
        assert groups["name_" + safe_group(name)] == [host], "keyed_groups saw the literal name"
    assert groups["named_like_a_template"] == sorted(TEMPLATE_NAMES), "groups saw the literal names"
    assert groups["security_test"] == sorted(host_of[morefs[name]] for name in HOSTILE)
    assert hostvars[host_of[morefs[SQUARE]]]["policies_as_composed"] == ["Gold-EU"]

    # The cache gives back the same inventory, with the names as literal as when they came from the servers.
    cached = work / "cached.sovereign_coverage.yml"
    cached.write_text(config_text(folder, cache=work / "cache"))
    first = listing(lab, cached, work)
    second = listing(lab, cached, work)
    assert first[:2] == second[:2] == (groups, hostvars)
    assert first[3] == second[3] == raw, "marked the same way"
    assert_nothing_rendered(work, first[2] + second[2])


def test_a_vm_named_localhost_does_not_replace_the_controller(hostile, work):
    lab, folder, morefs = hostile
    config = work / "localhost.sovereign_coverage.yml"
    config.write_text(config_text(folder))
    stdout, stderr = run(lab, [ANSIBLE_INVENTORY, "-i", str(config), "--graph"], work)
    hosts_in_graph = {line.split("|--", 1)[1] for line in stdout.splitlines() if "|--" in line and "|--@" not in line}
    renamed = inventory_host(LOCALHOST, morefs)
    assert renamed == "localhost_" + morefs[LOCALHOST]
    assert LOCALHOST not in hosts_in_graph and renamed in hosts_in_graph, stdout
    assert "Ansible reserves the host name localhost" in stderr and renamed in stderr, stderr

    groups, hostvars, _output, _raw = listing(lab, config, work)
    assert groups["named_localhost"] == [renamed]
    assert groups["name_localhost"] == [renamed]
    assert hostvars[renamed]["sovereign_backup_name"] == LOCALHOST, "the VM keeps its name in sovereign_backup_name"
    assert hostvars[renamed]["ansible_host"] == "localhost.example.com"
    assert LOCALHOST not in hostvars


def test_a_play_over_the_hosts_runs_on_the_controller_and_renders_no_name(hostile, work):
    """A task delegated to localhost for each hostile VM, and a play on localhost: both run locally (a VM named
    localhost whose ansible_host is localhost.example.com would make them unreachable), and what they see of the
    names is literal."""
    lab, folder, morefs = hostile
    config = work / "play.sovereign_coverage.yml"
    config.write_text(config_text(folder))
    seen = work / "seen"
    seen.mkdir()
    playbook = work / "play.yml"
    playbook.write_text(textwrap.dedent("""
        - name: Every VM with a hostile name, from the controller
          hosts: security_test
          gather_facts: false
          tasks:
            - name: Write what the play sees of the VM, on the controller
              ansible.builtin.copy:
                content: "{{ {'inventory_hostname': inventory_hostname, 'name': sovereign_backup_name,
                              'ansible_host': ansible_host, 'group_names': group_names,
                              'play_hosts': ansible_play_hosts} | to_json }}"
                dest: "%(seen)s/{{ sovereign_backup_moref }}.json"
                mode: "0600"
              delegate_to: localhost

        - name: The controller itself
          hosts: localhost
          gather_facts: false
          tasks:
            - name: Write how Ansible reaches localhost
              ansible.builtin.copy:
                content: "{{ {'inventory_hostname': inventory_hostname, 'connection': ansible_connection} | to_json }}"
                dest: "%(seen)s/localhost.json"
                mode: "0600"
    """ % {"seen": seen}))
    stdout, stderr = run(lab, [ANSIBLE_PLAYBOOK, "-i", str(config), str(playbook)], work)
    assert_nothing_rendered(work, stdout + stderr)
    assert "localhost.example.com" not in stdout + stderr, "nothing tried to reach the VM named localhost"

    controller = json.loads((seen / "localhost.json").read_text())
    assert controller == {"inventory_hostname": "localhost", "connection": "local"}, "the implicit localhost"
    hosts = sorted(inventory_host(name, morefs) for name in HOSTILE)
    for name in HOSTILE:
        seen_of_vm = json.loads((seen / (morefs[name] + ".json")).read_text())
        assert seen_of_vm["inventory_hostname"] == inventory_host(name, morefs)
        assert seen_of_vm["name"] == name and seen_of_vm["ansible_host"] == name + ".example.com"
        assert "name_" + safe_group(name) in seen_of_vm["group_names"]
        assert sorted(seen_of_vm["play_hosts"]) == hosts


def test_policies_that_make_the_same_group_name_get_distinct_groups(hostile, work):
    lab, folder, morefs = hostile
    config = work / "policies.sovereign_coverage.yml"
    config.write_text(config_text(folder))
    stdout, stderr = run(lab, [ANSIBLE_INVENTORY, "-i", str(config), "--list"], work)
    groups = {name: sorted(group.get("hosts", [])) for name, group in plain(json.loads(stdout)).items()
              if name != "_meta"}
    assert "policy_Gold_EU" not in groups, "no group mixes the VMs of both policies"
    assert groups[POLICY_GROUPS["Gold-EU"]] == [SQUARE]
    assert groups[POLICY_GROUPS["Gold.EU"]] == [inventory_host(LOCALHOST, morefs)]
    warning = " ".join(stderr.split())  # Ansible wraps long warnings
    assert "The groups of SLA policy Gold-EU and SLA policy Gold.EU would all be policy_Gold_EU" in warning, stderr
    for policy, group in POLICY_GROUPS.items():
        assert "the group of SLA policy %s is %s" % (policy, group) in warning, stderr


def test_the_collections_roles_and_tasks_keep_the_names_literal(hostile, work):
    """The playbook tasks and the role that print and report every VM (show_coverage.yml, backup_report), and the
    set_fact over a registered result that the roles use to find a VM, see the hostile names and render none."""
    lab, folder, _morefs = hostile
    report_dir = work / "report"
    playbook = work / "roles.yml"
    playbook.write_text(textwrap.dedent("""
        - name: The coverage of hostile names, through the collection's tasks and role
          hosts: localhost
          connection: local
          gather_facts: false
          tasks:
            - name: Read the coverage
              sovereign.vm_backup.backup_inventory:
              register: coverage
            - name: One line per VM
              ansible.builtin.include_tasks: %(root)s/playbooks/tasks/show_coverage.yml
              vars:
                show_coverage_of: "{{ coverage }}"
            - name: The report files
              ansible.builtin.include_role:
                name: sovereign.vm_backup.backup_report
              vars:
                backup_report_coverage: "{{ coverage }}"
                backup_report_dest: %(report)s
            - name: Find the VMs with selectattr, as protected_vm and the restore roles do
              ansible.builtin.set_fact:
                found: >-
                  {{ (coverage.vms + coverage.vcenter_only) | selectattr('folder', 'equalto', '%(folder)s') | list }}
            - name: Keep their names
              ansible.builtin.set_fact:
                found_names: "{{ found | map(attribute='name') | sort }}"
            - name: Write them on the controller
              ansible.builtin.copy:
                content: "{{ found_names | to_json }}"
                dest: %(work)s/found.json
                mode: "0600"
    """ % {"root": ROOT, "report": report_dir, "folder": folder, "work": work}))
    # No inventory but the implicit localhost.
    stdout, stderr = run(lab, [ANSIBLE_PLAYBOOK, str(playbook)], work, env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": None})
    assert_nothing_rendered(work, stdout + stderr)
    assert json.loads((work / "found.json").read_text()) == sorted(HOSTILE)
    names = {vm["name"] for vm in json.loads((report_dir / "coverage.json").read_text())["vms"]}
    assert set(HOSTILE) <= names, "the report has the names as they are"
