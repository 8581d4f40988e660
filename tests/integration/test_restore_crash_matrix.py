# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The crash-test matrix of restores that replace a production VM (issue 13, part 6).

Three scenarios: ``vm_restore`` in production mode with ``overwrite: true`` and with ``keep_current: true``, and the
role ``restore_production`` (``restore_production_confirm: true``; without, then with ``keep_current``). Their steps
are record -> rename_current (keep_current) -> restore (POST, then the request record gets the session, the wait,
then the record gets the restored VM) -> power_off_current (keep_current) -> protect (inventory rescan job, then
applySLAPolicies) -> mark -> forget. Each cell strikes one step boundary with one failure:

* the SPP emulator's fault API: a 503 before or after the effect, a dropped answer, or an answer held back long
  (``latency_ms`` after the effect) so that the test can kill the run once the request took effect;
* the vSphere simulator's fault API (``tests/emulators/vcsim/README.md``): a vim25 fault on ``Rename_Task``,
  ``PowerOffVM_Task`` or ``SetField`` (the request record on the root folder, or the marker on the restored VM), or
  a call held before or after its effect to kill the run there;
* killing ``ansible-playbook`` once the run is frozen at such a point: SIGKILL to its process group and to the groups
  of all its descendants (each ansible worker calls setsid, and the module runs in the worker's group), as a crash of
  the machine would. "kill while the session runs" holds the emulator's own ``CloneVM_Task`` of the restore, so the
  session is still running when the run dies.

Then the faults are cleared and the same task runs again: it must succeed (a kill that left the restore session
running allows one more re-run; the matrix says so when it was used). It runs once more, and must report no change
(when the re-run already reported no change, it is that last run). The invariants are read
through plain pyVmomi (``vcenter.py``) and the emulator's admin API, never through the collection:

* exactly one VM carries the production name, and it is the VM that the one restore made;
* one restore was executed for the source (``/state`` ``restores``), and at most one restore POST took effect (the
  request counters, less the POSTs answered 503 before taking effect);
* nothing named ``<name>_OLD`` is powered on (with keep_current: exactly one, the original VM, powered off);
* the production VM has the policies the original had, on the backup server;
* the last run reports no change;
* no request record of the source is left on vCenter's root folder.

Each cell restores a VM of its own (a powered-on clone of DC0_H0_VM0, protected by Gold and Silver and backed up
once, set up through the REST API), destroyed at the end. The matrix (scenario x step x fault -> first run, re-run,
last run, invariants) is printed at the end of the session, and written to ``tests/output/crash_matrix.txt``.
With CRASH_MATRIX_DEBUG=<directory> in the environment, the output of every run is kept there.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass

import pytest

import lab as lab_api  # tests/lab/lab.py: the vSphere simulator's fault API, by the lab's env
import vcenter
from helpers import assign_policies, back_up, poll, recap

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = os.path.join(ROOT, "tests", "integration", "targets")
OUTPUT = os.path.join(ROOT, "tests", "output")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
REQUESTS_FIELD = "sovereign.vm_backup.restore_requests"
POLICIES = ["Gold", "Silver"]
HYPERVISOR = "/ngp/hypervisor"  # restore, then applySLAPolicies: the first and the second POST of a run
INVENTORY_JOB = "/api/endeavour/job/1002"  # the emulator's Hypervisor Inventory job, started by the rescan
RESTORE_POST = "POST /ngp/hypervisor?action=restore"
HOLD_MS = 90000  # long enough to kill the frozen run; released (vCenter) or left to run out (SPP) afterwards
RUN_TIMEOUT = 600
RESTORE_SERVICE = "serviceprovider.recovery.hypervisor"


# -- the scenarios: what runs, and how its "changed" is read -------------------------------------------------------

SCENARIOS = {
    "overwrite": {"module": {"mode": "production", "overwrite": True, "power_on": True}, "kept": False},
    "keep_current": {"module": {"mode": "production", "keep_current": True, "power_on": True}, "kept": True},
    "role": {"role": {"restore_production_confirm": True, "restore_production_keep_current": False}, "kept": False},
    "role_keep": {"role": {"restore_production_confirm": True, "restore_production_keep_current": True},
                  "kept": True},
}


@dataclass
class Cell:
    """The production VM of one cell, and the lab: what the faults and checkpoints are about."""

    lab: object
    scenario: str
    name: str
    moref: str  # the original VM's
    instance_uuid: str
    root: str  # vCenter's root folder (the request records live there)

    def record(self):
        """The request record of this source on the root folder (plain pyVmomi), or None."""
        with self.lab.vcenter() as client:
            records = vcenter.custom_value(client, client.content.rootFolder, REQUESTS_FIELD) or {}
        return records.get(self.instance_uuid)

    def spp_faults(self):
        return self.lab.admin("GET", "/faults")["faults"]

    def spp_state(self):
        return self.lab.admin("GET", "/state")


# -- faults: each installs itself and returns a check that it struck -----------------------------------------------

def _spp(cell, **body):
    """An SPP emulator fault on the next matching POST; struck once the emulator has used it up."""
    cell.lab.admin("POST", "/faults", dict({"method": "POST", "count": 1}, **body))
    return lambda: not cell.spp_faults()


def _vcenter_rules(cell):
    rules = lab_api.vcenter_faults(cell.lab.env)
    return rules.get("faults", []) if isinstance(rules, dict) else rules or []


def _vc(cell, method, about, **rule):
    """A vCenter fault on ``method`` about the original VM (``current``), the root folder (``root``) or any object
    (None); struck once the simulator has used it up."""
    moref = {"current": cell.moref, "root": cell.root, None: None}[about]
    recorded = lab_api.vcenter_fault(cell.lab.env, method, moref=moref, **rule)
    return lambda: recorded["id"] not in {r.get("id") for r in _vcenter_rules(cell)}


def _vc_marker(cell, **rule):
    """A vCenter fault on the marker write: SetField on anything but the root folder, whose writes (the request
    record) a first rule lets through unchanged."""
    lab_api.vcenter_fault(cell.lab.env, "SetField", moref=cell.root, fault=None, hold_ms=1, count=0)
    return _vc(cell, "SetField", None, **rule)


# -- checkpoints of the kills: each waits until the run is frozen at its point -------------------------------------

def _until(run, check, what, timeout=180):
    def ended():
        if run.process.poll() is not None:
            raise AssertionError("the run ended (rc %s) before %s:\n%s"
                                 % (run.process.returncode, what, run.output()[-4000:]))

    return poll(check, timeout, what, give_up=ended)


def _restore_taken(cell, run):
    """The restore POST took effect (the emulator runs its session) and its answer is held back."""
    def taken():
        return not cell.spp_faults() and any(_restores_of(cell, cell.spp_state()))

    _until(run, taken, "the restore POST took effect")
    return "restore POST took effect, answer held"


def _protected(cell, run):
    """applySLAPolicies took effect on the restored VM and its answer is held back."""
    def applied():
        state = cell.spp_state()
        return not cell.spp_faults() and any(
            vm["name"] == cell.name and vm["moref"] != cell.moref and sorted(state["vm_policies"].get(vm_id, [])) ==
            POLICIES for vm_id, vm in state["vms"].items())

    _until(run, applied, "applySLAPolicies took effect")
    return "applySLAPolicies took effect, answer held"


def _held(method, record_step=None):
    """The run (or, for CloneVM_Task, the emulator's restore session) is frozen in a held ``method`` call; with
    ``record_step``, the request record says that step is done."""
    def checkpoint(cell, run):
        call = _until(run, lambda: next((c for c in lab_api.vcenter_held(cell.lab.env) if c["method"] == method),
                                        None), "a held %s call" % method)
        if record_step:
            _until(run, lambda: (cell.record() or {}).get("step") == record_step,
                   "the request record at step %s" % record_step)
        return "%s held %s its effect" % (method, call.get("phase", "before"))

    return checkpoint


@dataclass(frozen=True)
class Fault:
    """One failure at one step boundary: how it is injected, and where a kill strikes."""

    step: str
    label: str
    inject: object  # inject(cell) -> struck(): bool
    kill: object = None  # kill(cell, run) -> description: waits for the frozen point; the run is then killed
    unexecuted: int = 0  # restore POSTs the fault answers without executing them
    session_left_running: bool = False  # the kill leaves the restore session running: one more re-run is allowed


FAULTS = {f.label: f for f in (
    Fault("rename", "Rename_Task fault", lambda c: _vc(c, "Rename_Task", "current")),
    Fault("rename", "Rename_Task fault after effect", lambda c: _vc(c, "Rename_Task", "current", after_effect=True)),
    Fault("rename", "kill before Rename_Task", lambda c: _vc(c, "Rename_Task", "current", fault=None,
                                                             hold_ms=HOLD_MS), kill=_held("Rename_Task")),
    Fault("rename", "kill after Rename_Task", lambda c: _vc(c, "Rename_Task", "current", fault=None, after_effect=True,
                                                            hold_ms=HOLD_MS), kill=_held("Rename_Task")),
    Fault("restore POST", "503 before effect", lambda c: _spp(c, path_prefix=HYPERVISOR, status=503), unexecuted=1),
    Fault("restore POST", "503 after effect", lambda c: _spp(c, path_prefix=HYPERVISOR, status=503,
                                                             after_effect=True)),
    Fault("restore POST", "dropped after effect", lambda c: _spp(c, path_prefix=HYPERVISOR, drop_after_effect=True)),
    Fault("restore POST", "kill after effect", lambda c: _spp(c, path_prefix=HYPERVISOR, latency_ms=HOLD_MS,
                                                              after_effect=True), kill=_restore_taken,
          session_left_running=True),
    Fault("wait", "kill while the session runs", lambda c: _vc(c, "CloneVM_Task", "current", fault=None,
                                                               hold_ms=HOLD_MS),
          kill=_held("CloneVM_Task", record_step="posted"), session_left_running=True),
    Fault("record", "SetField fault on 'posted'", lambda c: _vc(c, "SetField", "root", after=1)),
    Fault("record", "SetField fault on 'restored'", lambda c: _vc(c, "SetField", "root", after=2)),
    Fault("power-off", "PowerOffVM_Task fault", lambda c: _vc(c, "PowerOffVM_Task", "current")),
    Fault("power-off", "kill before PowerOffVM_Task", lambda c: _vc(c, "PowerOffVM_Task", "current", fault=None,
                                                                    hold_ms=HOLD_MS), kill=_held("PowerOffVM_Task")),
    Fault("protect", "503 on inventory job start", lambda c: _spp(c, path_prefix=INVENTORY_JOB, status=503)),
    Fault("protect", "503 on applySLAPolicies", lambda c: _spp(c, path_prefix=HYPERVISOR, after=1, status=503)),
    Fault("protect", "kill after applySLAPolicies", lambda c: _spp(c, path_prefix=HYPERVISOR, after=1,
                                                                   latency_ms=HOLD_MS, after_effect=True),
          kill=_protected),
    Fault("marker", "SetField fault", _vc_marker),
    Fault("marker", "kill before SetField", lambda c: _vc_marker(c, fault=None, hold_ms=HOLD_MS),
          kill=_held("SetField")),
)}

MATRIX = {
    "overwrite": ["503 before effect", "503 after effect", "dropped after effect", "kill after effect",
                  "kill while the session runs", "SetField fault on 'posted'", "SetField fault on 'restored'",
                  "503 on inventory job start", "503 on applySLAPolicies", "kill after applySLAPolicies",
                  "SetField fault", "kill before SetField"],
    "keep_current": ["Rename_Task fault", "kill before Rename_Task", "Rename_Task fault after effect",
                     "kill after Rename_Task", "503 before effect", "503 after effect", "dropped after effect",
                     "kill after effect", "kill while the session runs", "SetField fault on 'posted'",
                     "SetField fault on 'restored'", "PowerOffVM_Task fault", "kill before PowerOffVM_Task",
                     "503 on applySLAPolicies", "kill after applySLAPolicies", "SetField fault"],
    "role": ["kill after effect", "kill while the session runs", "SetField fault on 'restored'",
             "kill after applySLAPolicies", "SetField fault"],
    "role_keep": ["kill after Rename_Task", "kill before PowerOffVM_Task"],
}
CELLS = [(scenario, FAULTS[label]) for scenario, labels in MATRIX.items() for label in labels]


def _cell_id(scenario, fault):
    return "%s-%s-%s" % (scenario, fault.step, fault.label)


CELL_IDS = [_cell_id(scenario, fault).replace(" ", "_").replace("'", "") for scenario, fault in CELLS]


# -- runs of ansible-playbook, killable ----------------------------------------------------------------------------

class Run:
    """One ansible-playbook run of the scenario's task, in a process group of its own (so that a kill takes the
    module with it); ``finish()`` waits for it and reads its outcome."""

    def __init__(self, lab, scenario, name):
        self.scenario = scenario
        self.tmp = tempfile.mkdtemp(prefix="crash-")
        self.results_file = os.path.join(self.tmp, "results.json")
        self.output_file = os.path.join(self.tmp, "output.txt")
        spec = SCENARIOS[scenario]
        if "module" in spec:
            playbook = os.path.join(TARGETS, "vm_restore.yml")
            variables = {"module_args": dict(spec["module"], vm=name)}
        else:
            playbook = os.path.join(TARGETS, "restore_crash_role.yml")
            variables = dict(spec["role"], restore_production_vm=name)
        variables["results_file"] = self.results_file
        with open(self.output_file, "wb") as output:
            self.process = subprocess.Popen(  # pylint: disable=consider-using-with
                [ANSIBLE_PLAYBOOK, playbook, "-e", json.dumps(variables)], env=lab.command_env(), stdout=output,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.killed = None

    def output(self):
        with open(self.output_file, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def kill(self, where):
        """SIGKILL the run: ansible-playbook's process group, and the process groups of all its descendants (each
        ansible worker calls setsid, and the module runs in the worker's group); then make sure none of them lives."""
        tree = _descendants(self.process.pid)
        groups = {self.process.pid} | {_stat(pid)[2] for pid in tree if _stat(pid)}
        for group in sorted(groups):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        self.process.wait(60)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in tree) or any(_group_alive(group) for group in groups):
            assert time.monotonic() < deadline, "processes of the killed run live on: %s" % tree
            time.sleep(0.1)
        self.killed = where

    def finish(self):
        """``{"rc", "changed", "msg", "output", "result"}`` once the run ended."""
        if self.killed is None:
            try:
                self.process.wait(RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill("timed out")
                raise AssertionError("the run took more than %s s:\n%s" % (RUN_TIMEOUT, self.output()[-4000:]))
        output = self.output()
        if os.environ.get("CRASH_MATRIX_DEBUG"):  # keep every run's output, for a look at what happened
            with open(os.path.join(os.environ["CRASH_MATRIX_DEBUG"], "%s-%s.txt" % (self.scenario, time.time())), "w",
                      encoding="utf-8") as handle:
                handle.write(output)
        result = None
        if os.path.exists(self.results_file):
            with open(self.results_file, encoding="utf-8") as handle:
                result = json.load(handle)
        shutil.rmtree(self.tmp, ignore_errors=True)
        rc = self.process.returncode
        if "module" in SCENARIOS[self.scenario]:
            changed = bool((result or {}).get("changed"))
        else:  # the role: the play's recap counts its changes (saving the result is not one)
            changed = "PLAY RECAP" in output and recap(output)["changed"] > 0
        msg = (result or {}).get("msg") if (result or {}).get("failed") else None
        if rc and not msg:
            fatal = [line for line in output.splitlines() if line.startswith(("fatal:", "failed:"))]
            msg = fatal[-1] if fatal else output[-400:]
        return {"rc": rc, "changed": changed, "msg": msg, "output": output, "result": result}


def _stat(pid):
    """(state, ppid, pgrp) of a process, from /proc; None once it is gone."""
    try:
        with open("/proc/%s/stat" % pid, encoding="utf-8", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1]), int(fields[2])


def _processes():
    return {int(entry): stat for entry in os.listdir("/proc") if entry.isdigit() for stat in [_stat(entry)] if stat}


def _descendants(root):
    """Every process below ``root`` (children, their children ...), whatever their session."""
    children = {}
    for pid, (_state, parent, _group) in _processes().items():
        children.setdefault(parent, []).append(pid)
    found, pending = [], [root]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def _alive(pid):
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _group_alive(group):
    """Whether a process (not a zombie) of process group ``group`` still exists."""
    return any(state != "Z" and pgrp == group for state, _parent, pgrp in _processes().values())


def _describe(outcome):
    """The outcome of a run, in a few words for the matrix."""
    if outcome.get("killed"):
        return "killed: " + outcome["killed"]
    if outcome["rc"] == 0:
        return "ok, changed" if outcome["changed"] else "ok, no change"
    return "FAILED"


def _warnings(outcome, limit=220):
    """The module's warnings in a run's output (not ansible-core's own about templated task args)."""
    found = []
    for block in outcome["output"].split("[WARNING]: ")[1:]:
        text = " ".join(block.split("\n\n")[0].split())
        if not text.startswith("Using a template for task args"):
            found.append(text[:limit] + ("..." if len(text) > limit else ""))
    return found


def _message(outcome, limit=220):
    """The failure message of a run, on one line (a pyVmomi fault dump reduced to its class and msg)."""
    text = " ".join(str(outcome["msg"] or "").split())
    fault = re.search(r"\((vmodl\.fault\.\w+|vim\.fault\.\w+)\) \{.*?msg = (?:'([^']*)'|\"([^\"]*)\")", text)
    if fault:
        text = "%s%s: %s%s" % (text[:fault.start()], fault.group(1), fault.group(2) or fault.group(3),
                               text[text.index("}", fault.end()) + 1:] if "}" in text[fault.end():] else "")
    return text[:limit] + ("..." if len(text) > limit else "")


# -- the cell's VM, and the invariants ---------------------------------------------------------------------------

@contextlib.contextmanager
def production_vm(lab, scenario):
    """A powered-on VM of the cell's own, protected by Gold and Silver and backed up once; destroyed (with its _OLD
    and any other VM whose name starts with it) on the way out."""
    name = "cm%s" % uuid.uuid4().hex[:6]
    lab_api.clear_vcenter_faults(lab.env)
    try:
        with lab.vcenter() as client:
            vm = vcenter.clone_vm(client, "DC0_H0_VM0", name, power_on=True)
            cell = Cell(lab, scenario, name, vcenter.moref(vm), vm.config.instanceUuid,
                        vcenter.moref(client.content.rootFolder))
        lab.admin("POST", "/inventory")
        assign_policies(lab, vms={name: POLICIES})
        back_up(lab, "Gold", [name])
        yield cell
    finally:
        lab.admin("DELETE", "/faults")
        lab_api.clear_vcenter_faults(lab.env)
        with lab.vcenter() as client:
            for vm_name in vcenter.names_like(client, name):
                while vcenter.find_vm(client, vm_name) is not None:
                    vcenter.destroy_vm(client, vm_name)


def _restores_of(cell, state):
    """The restore sessions the emulator ran for the cell's VM: [(session id, entries)]."""
    return [(session_id, entries) for session_id, entries in state["restores"].items()
            if any(entry.get("sourceVmMoref") == cell.moref or entry.get("sourceVmName") == cell.name
                   for entry in entries)]


def invariants(cell, unexecuted_posts):
    """The end state, through pyVmomi and the emulator's admin API: {invariant: problem or None}."""
    kept = SCENARIOS[cell.scenario]["kept"]
    found = {}
    with cell.lab.vcenter() as client:
        holders = vcenter.find_vms(client, cell.name)
        production = vcenter.moref(holders[0]) if len(holders) == 1 else None
        olds = [(vm_name, vcenter.moref(vm), str(vm.runtime.powerState))
                for vm_name in vcenter.names_like(client, cell.name + "_OLD")
                for vm in vcenter.find_vms(client, vm_name)]
        records = vcenter.custom_value(client, client.content.rootFolder, REQUESTS_FIELD) or {}
    state = cell.spp_state()
    restores = _restores_of(cell, state)
    made = [entry.get("moref") for _session, entries in restores for entry in entries]
    counted = cell.lab.admin("GET", "/requests")["actions"].get(RESTORE_POST, 0)

    found["one VM has the production name"] = None if len(holders) == 1 else (
        "%d VMs named %s" % (len(holders), cell.name))
    if production is not None and production not in made:
        found["one VM has the production name"] = "%s is %s, not the restored VM (%s)" % (cell.name, production, made)
    found["one restore"] = None if len(restores) == 1 and counted - unexecuted_posts <= 1 else (
        "%d restore sessions ran for %s; %d restore POSTs counted, %d of them answered before taking effect"
        % (len(restores), cell.name, counted, unexecuted_posts))
    on = [old for old in olds if old[2] == "poweredOn"]
    found["no _OLD powered on"] = "powered on: %s" % on if on else None
    if kept and [(old[0], old[1]) for old in olds] != [(cell.name + "_OLD", cell.moref)]:
        found["no _OLD powered on"] = "expected the original %s as %s_OLD, found %s" % (cell.moref, cell.name, olds)
    if not kept and olds:
        found["no _OLD powered on"] = "an overwrite keeps no _OLD: %s" % olds
    vm_ids = [vm_id for vm_id, vm in state["vms"].items() if production and vm["moref"] == production]
    policies = sorted(state["vm_policies"].get(vm_ids[0], [])) if len(vm_ids) == 1 else None
    found["policies"] = None if policies == POLICIES else (
        "the backup server has %s for %s (%s), not %s" % (policies, cell.name, production, POLICIES))
    left = {key: record for key, record in records.items()
            if key == cell.instance_uuid or (record.get("source") or {}).get("name") == cell.name}
    found["no request record"] = "left: %s" % left if left else None
    return found


# -- the matrix, collected across xdist workers and printed once -------------------------------------------------

COLUMNS = (("scenario", 12), ("step", 12), ("fault", 30), ("first run", 50), ("re-run", 14), ("last run", 14),
           ("invariants", 10), ("s", 3))


def _matrix_text(rows):
    lines = ["", "crash-test matrix of replacing restores: %d cells (scenario x step x fault -> first run / re-run / "
             "last run / invariants)" % len(rows),
             "  ".join(title.ljust(width) for title, width in COLUMNS)]
    for row in rows:
        lines.append("  ".join(str(row.get(title, "")).ljust(width) for title, width in COLUMNS))
        for note in row.get("notes", []):
            lines.append("    - " + note)
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def crash_matrix(request):
    """``record(row)`` files one cell's row; at the end of the session, the worker that sees every cell of this run
    writes the matrix to tests/output/crash_matrix.txt and prints it (also with -q)."""
    run_id = getattr(request.config, "workerinput", {}).get("testrunuid") or "local-%d" % os.getpid()
    directory = os.path.join(OUTPUT, "crash_matrix", run_id)
    os.makedirs(directory, exist_ok=True)

    def record(row):
        path = os.path.join(directory, row["id"] + ".json")
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(row, handle)
        os.replace(path + ".tmp", path)

    yield record
    wanted = [item.callspec.id for item in request.session.items
              if item.module.__name__ == __name__ and hasattr(item, "callspec")]
    rows = []
    for cell_id in wanted:
        path = os.path.join(directory, cell_id + ".json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                rows.append(json.load(handle))
    text = _matrix_text(rows)
    with open(os.path.join(OUTPUT, "crash_matrix.txt"), "w", encoding="utf-8") as handle:
        handle.write(text)
    if len(rows) < len(wanted):
        return  # another worker still runs cells: it prints the whole matrix
    try:
        os.close(os.open(os.path.join(directory, "printed"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        sys.stderr.write("\n" + text)
        sys.stderr.flush()
    shutil.rmtree(directory, ignore_errors=True)
    with contextlib.suppress(OSError):
        os.rmdir(os.path.dirname(directory))  # when no other run is collecting


# -- the cells ---------------------------------------------------------------------------------------------------

def _first_run(cell, fault, row):
    """Inject the fault, run the task (killing it at the fault's checkpoint), clear the faults; the outcome."""
    cell.lab.admin("DELETE", "/requests")
    struck = fault.inject(cell)
    run = Run(cell.lab, cell.scenario, cell.name)
    try:
        if fault.kill is not None:
            where = fault.kill(cell, run)
            if fault.session_left_running:
                row["notes"].append("restore session(s) at the kill: %s" % _restore_statuses(cell))
            run.kill(where)
        outcome = run.finish()
    finally:
        if run.process.poll() is None:
            run.kill("cleanup")
    outcome["killed"] = run.killed
    assert struck(), "the fault did not strike (%s):\n%s" % (fault.label, outcome["output"][-4000:])
    cell.lab.admin("DELETE", "/faults")
    lab_api.clear_vcenter_faults(cell.lab.env)
    return outcome


def _restore_statuses(cell):
    """The restore sessions on the backup server and their status (the lab's state is reset for each cell)."""
    sessions = [s for s in cell.spp_state()["sessions"] if s.get("serviceId") == RESTORE_SERVICE]
    return ", ".join("%s %s" % (s["id"], s.get("status")) for s in sessions) or "none"


def _run_again(cell, what, row):
    """Run the task again; it must succeed. Its failure message goes to the matrix's notes."""
    outcome = Run(cell.lab, cell.scenario, cell.name).finish()
    if outcome["rc"] != 0:
        row["notes"].append("%s: %s" % (what, _message(outcome)))
    return outcome


def _must_succeed(outcome, what):
    assert outcome["rc"] == 0, "%s failed: %s\n%s" % (what, outcome["msg"], outcome["output"][-4000:])


@pytest.mark.parametrize("scenario,fault", CELLS, ids=CELL_IDS)
def test_a_replacing_restore_converges_after_a_crash(fresh_lab, crash_matrix, scenario, fault):
    row = {"id": CELL_IDS[CELLS.index((scenario, fault))], "scenario": scenario, "step": fault.step,
           "fault": fault.label, "notes": []}
    started = time.monotonic()
    column = "first run"
    try:
        with production_vm(fresh_lab, scenario) as cell:
            row["vm"] = "%s (original %s)" % (cell.name, cell.moref)
            first = _first_run(cell, fault, row)
            row["first run"] = _describe(first)
            if first["rc"] and not first["killed"]:
                row["notes"].append("first run: " + _message(first))
            for warning in _warnings(first):
                row["notes"].append("first run warned: " + warning)
            column = "re-run"
            again = _run_again(cell, "re-run", row)
            if again["rc"] != 0 and fault.session_left_running:
                row["notes"].append("one more re-run allowed: the kill left the restore session running")
                again = _run_again(cell, "second re-run", row)
            row["re-run"] = _describe(again)
            _must_succeed(again, "the re-run")
            column = "last run"
            if not again["changed"]:
                last = again  # nothing was left to do: the re-run is the last run
                row["last run"] = "(= re-run)"
            else:
                last = _run_again(cell, "last run", row)
                row["last run"] = _describe(last)
            _must_succeed(last, "the last run")
            assert last["changed"] is False, "the last run reported a change:\n%s" % last["output"][-4000:]
            column = "invariants"
            problems = {name: problem for name, problem in invariants(cell, fault.unexecuted).items() if problem}
            row["invariants"] = "ok" if not problems else "BROKEN"
            for name, problem in problems.items():
                row["notes"].append("invariant %s: %s" % (name, problem))
            assert not problems, "invariants broken: %s" % json.dumps(problems, indent=1)
    except BaseException as error:
        row.setdefault(column, "FAILED")
        first_line = " ".join(str(error).split("\n", maxsplit=1)[0].split())[:200]
        row["notes"].append("VM %s: the cell stopped at the %s: %s" % (row.get("vm"), column, first_line))
        raise
    finally:
        row["s"] = int(time.monotonic() - started)
        crash_matrix(row)
