# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bad-input table (issue 14, part 6) against the lab: the rows of ``tests/tables/bad_input_rows.py`` that need
the servers, a sample of the others, the inventory plugin and the roles, with the proof that nothing changed.

Every row of a module is a task that would change something with a good value, given one bad value instead. One
``ansible-playbook`` per module and kind runs its rows as the items of a loop (``ignore_errors``, registered
results), with the emulator's request counters (``/requests``) and vCenter's SOAP call counts (``/__vcsim__/calls``)
reset before it and read after it:

* ``args`` rows (the ``e2e`` sample; the unit table runs them all in-process): refused before any call, so the run
  makes no request to the backup server and no SOAP call to vCenter;
* ``server`` rows (a VM, a policy, a site, a cluster, a folder, a recovery point that does not exist; a production
  restore without overwrite): refused after reading, so the run makes no write to either server.

Each row's task must fail, say the expected fragment, and report no change. The inventory plugin's rows run
``ansible-inventory`` one at a time and must make no call at all; the roles' rows must write nothing. The rows tried
here are printed at the end (also with -q) and written to ``tests/output/bad_input_table_integration.txt``.

``BAD_INPUT_SURVEY=<file>`` runs every module row one at a time instead, asserts nothing, and files what each did
(outcome, writes, calls) in that JSON file: run against the previous commit, it is how the table's ``defect`` column
was found.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

import lab as lab_api  # tests/lab/lab.py: the vSphere simulator's call counts, by the lab's env
import vcenter
from helpers import TERMINAL_STATUSES, SppReader, back_up, poll

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "tables"))
from bad_input_rows import BACKED_UP, INVENTORY, ROLES, TABLE, table_text  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("bad_input")]  # counters are lab-wide

OUTPUT = os.path.join(ROOT, "tests", "output")
ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
# Requests to the backup server that change nothing: login, logout, and the search that pages with POST.
SPP_READS = {"POST /api/endeavour/session", "DELETE /api/endeavour/session", "POST /api/hypervisor/search"}
# SOAP methods that change vCenter (besides every *_Task).
VCENTER_WRITES = {"SetField", "AddCustomFieldDef", "RemoveCustomFieldDef", "RenameCustomFieldDef", "ShutdownGuest",
                  "RebootGuest", "StandbyGuest", "MarkAsTemplate", "MarkAsVirtualMachine", "UnregisterVM",
                  "CreateFolder"}


# -- counters -------------------------------------------------------------------------------------------------------

def reset_counters(lab):
    lab.admin("DELETE", "/requests")
    lab_api.reset_vcenter_calls(lab.env)


def writes(lab):
    """``(SPP writes, vCenter writes)`` since the counters were reset: ``{"POST /ngp/slapolicy": 1}``, ``{"SetField":
    2}``."""
    counts = lab.admin("GET", "/requests")["counts"]
    spp = {key: n for key, n in counts.items()
           if key.split(" ", 1)[0] in ("POST", "PUT", "PATCH", "DELETE") and key not in SPP_READS}
    calls = lab_api.vcenter_calls(lab.env)
    vcenter = {method: n for method, n in calls.items() if method.endswith("_Task") or method in VCENTER_WRITES}
    return spp, vcenter


def any_call(lab):
    """``(requests to the backup server, {SOAP method: calls to vCenter})`` since the counters were reset."""
    return lab.admin("GET", "/requests")["total"], lab_api.vcenter_calls(lab.env)


# -- playbooks ------------------------------------------------------------------------------------------------------

def _play(tasks):
    return [{"name": "Bad input", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "tasks": tasks}]


def module_play(module, argument_sets):
    return _play([
        {"name": "Run %s with each bad input" % module, "sovereign.vm_backup.%s" % module: None,
         "args": "{{ item }}", "loop": argument_sets, "register": "outcomes", "ignore_errors": True,
         "loop_control": {"label": "{{ ansible_loop.index0 }}", "extended": True}},
        {"name": "Save the outcomes", "save_result": {
            "content": "{{ outcomes.results | to_json }}", "dest": "{{ results_file }}"}},
    ])


def role_play(role, variables):
    return _play([
        {"name": "Run the role", "block": [
            {"name": "Include it", "ansible.builtin.include_role": {"name": "sovereign.vm_backup.%s" % role},
             "vars": variables},
            {"name": "Save the success", "save_result": {
                "content": "{{ {'failed': false, 'msg': 'the role succeeded', 'changed': false} | to_json }}",
                "dest": "{{ results_file }}"}}],
         "rescue": [{"name": "Save the failure", "save_result": {
             "content": "{{ {'failed': true, 'msg': ansible_failed_result.msg | default(''), "
                        "'changed': ansible_failed_result.changed | default(false)} | to_json }}",
             "dest": "{{ results_file }}"}}]},
    ])


def run_play(lab, play, tmp_path, name):
    path = os.path.join(str(tmp_path), name + ".yml")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(play, handle)  # JSON is YAML
    _rc, output, results = lab.playbook(path, expect_rc=None)
    assert results is not None, output[-3000:]
    return results, output


def arguments(row, tmp_path):
    """The row's module arguments, with the report's destination made a fresh path of this run."""
    args = dict(row.args)
    if args.get("dest") == "DEST":
        args["dest"] = os.path.join(str(tmp_path), "report-%d" % id(row))
    return args


def check_outcome(row, outcome, args):
    problems = []
    if not outcome.get("failed"):
        problems.append("the task did not fail")
    message = str(outcome.get("msg") or "")
    if row.expect not in message:
        problems.append("the error does not say %r: %s" % (row.expect, message[:400]))
    if outcome.get("changed"):
        problems.append("the task reported a change")
    if "MODULE FAILURE" in message or "Traceback" in message:
        problems.append("a traceback")
    if args.get("dest") and os.path.exists(args["dest"]):
        problems.append("report files were written to %s" % args["dest"])
    return problems


# -- fixtures -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def prepared(lab_env):
    """The lab reset, with BACKED_UP protected by Gold and backed up once (a clone restore of it would run)."""
    if not lab_env.emulated:
        pytest.skip("needs the emulator's request counters and the simulator's call counts")
    lab_api.clear_vcenter_faults(lab_env.env)
    lab_env.admin("DELETE", "/faults")
    lab_env.admin("POST", "/reset", {"inventory": True})
    lab_env.module("vm_backup_policy", {"vm": BACKED_UP, "policies": ["Gold"]})
    back_up(lab_env, "Gold", [BACKED_UP])
    return lab_env


@pytest.fixture(scope="module")
def table(request):
    """``record(row, problems)``; at the end, the rows tried are printed (also with -q) and written to tests/output."""
    lines = []
    yield lambda row, problems: lines.append((row, problems))
    if not lines:
        return
    text = table_text("bad-input table, against the lab", lines)
    os.makedirs(OUTPUT, exist_ok=True)
    with open(os.path.join(OUTPUT, "bad_input_table_integration.txt"), "w", encoding="utf-8") as handle:
        handle.write(text)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        sys.stderr.write("\n" + text)
        sys.stderr.flush()


# -- the survey (how the defect column was found) -------------------------------------------------------------------

def file_survey(lab, row, outcome):
    """File what ``row`` did in the survey file: its outcome, the writes and every call."""
    path = os.environ["BAD_INPUT_SURVEY"]
    found = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            found = json.load(handle)
    spp_writes, vcenter_writes = writes(lab)
    found[row.key] = {"failed": bool(outcome.get("failed")), "changed": bool(outcome.get("changed")),
                      "msg": str(outcome.get("msg"))[:300], "spp_writes": spp_writes,
                      "vcenter_writes": vcenter_writes, "calls": any_call(lab)}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(found, handle, indent=1, sort_keys=True)


def survey_reset(lab, module):
    """Undo what an earlier row of the survey changed, so that each row meets the state the table assumes: no clone,
    the VM to power off on, the policy to assign unassigned, the policy to create absent, no job running."""
    reader = SppReader(lab)
    poll(lambda: all(session.get("status") in TERMINAL_STATUSES for session in reader.sessions()), 600,
         "the job sessions an earlier row started to end")
    if module == "vm_restore":
        with lab.vcenter() as client:
            for name in vcenter.names_like(client, BACKED_UP + "_BADIN"):
                vcenter.destroy_vm(client, name)
    elif module == "vm_powerstate":
        with lab.vcenter() as client:
            vcenter.power_on(client, "DC0_H0_VM1")
    elif module == "vm_backup_policy":
        lab.module("vm_backup_policy", {"vm": "DC0_H0_VM0", "policies": ["Silver"], "state": "absent",
                                        "enforce": {"last_policy_of_running_vm": False}})
    elif module == "backup_sla_policy":
        lab.module("backup_sla_policy", {"name": "BadInput", "state": "absent"})


def survey(lab, rows, tmp_path):
    only = os.environ.get("BAD_INPUT_SURVEY_ONLY")  # a fragment of the row keys to survey again
    for index, row in enumerate(rows):
        if only and only not in row.key:
            continue
        args = arguments(row, tmp_path)
        survey_reset(lab, row.module)
        reset_counters(lab)
        outcomes, _output = run_play(lab, module_play(row.module, [args]), tmp_path, "%s-%d" % (row.module, index))
        file_survey(lab, row, outcomes[0])


# -- the tests ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("module", sorted(TABLE))
@pytest.mark.parametrize("before", ["args", "server"])
def test_bad_inputs_of_each_module(prepared, table, tmp_path, module, before):
    if os.environ.get("BAD_INPUT_SURVEY"):
        rows = [row for row in TABLE[module] if row.before == before]
        survey(prepared, rows, tmp_path)
        return
    rows = [row for row in TABLE[module] if row.before == before and (before == "server" or row.e2e)]
    if not rows:
        pytest.skip("no %s row of %s runs against the lab" % (before, module))
    argument_sets = [arguments(row, tmp_path) for row in rows]
    reset_counters(prepared)
    outcomes, output = run_play(prepared, module_play(module, argument_sets), tmp_path, module)
    spp_writes, vcenter_writes = writes(prepared)
    calls = any_call(prepared)
    assert len(outcomes) == len(rows), output[-3000:]
    failures = []
    for row, outcome, args in zip(rows, outcomes, argument_sets):
        problems = check_outcome(row, outcome, args)
        table(row, problems)
        if problems:
            failures.append("%s: %s" % (row.key, "; ".join(problems)))
    assert not failures, "\n".join(failures)
    assert spp_writes == {} and vcenter_writes == {}, "writes: %s %s" % (spp_writes, vcenter_writes)
    if before == "args":
        assert calls == (0, {}), "refused before any call, yet: %s" % (calls,)


def test_bad_inputs_of_the_inventory_plugin(prepared, table, tmp_path):
    failures = []
    for index, row in enumerate(INVENTORY):
        path = os.path.join(str(tmp_path), "bad%d.sovereign_coverage.yml" % index)
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(dict(row.args, plugin="sovereign.vm_backup.coverage"), handle)
        reset_counters(prepared)
        completed = subprocess.run([ANSIBLE_INVENTORY, "-i", path, "--list"],
                                   env=prepared.command_env({"ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}),
                                   capture_output=True, text=True, timeout=300, check=False)
        output = completed.stdout + completed.stderr
        if os.environ.get("BAD_INPUT_SURVEY"):
            reasons = [line for line in output.splitlines() if "with 'auto' plugin:" in line or "Traceback" in line]
            file_survey(prepared, row, {"failed": completed.returncode != 0, "msg": " ".join(reasons)[-300:]})
            continue
        problems = []
        if completed.returncode == 0:
            problems.append("ansible-inventory succeeded")
        if row.expect not in output:
            problems.append("the output does not say %r: %s" % (row.expect, output[-400:]))
        if "Traceback" in output:
            problems.append("a traceback")
        calls = any_call(prepared)
        if calls != (0, {}):
            problems.append("calls were made: %s" % (calls,))
        table(row, problems)
        if problems:
            failures.append("%s: %s" % (row.key, "; ".join(problems)))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("row", ROLES, ids=[row.option for row in ROLES])
def test_bad_inputs_of_the_roles(prepared, table, tmp_path, row):
    role = row.module.split(" ")[0]
    reset_counters(prepared)
    outcome, output = run_play(prepared, role_play(role, row.args), tmp_path, role)
    if os.environ.get("BAD_INPUT_SURVEY"):
        file_survey(prepared, row, outcome)
        return
    problems = check_outcome(row, outcome, {})
    spp_writes, vcenter_writes = writes(prepared)
    if spp_writes or vcenter_writes:
        problems.append("writes: %s %s" % (spp_writes, vcenter_writes))
    table(row, problems)
    assert not problems, output[-3000:]
