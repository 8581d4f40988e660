# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-doc renders every module, and the EXAMPLES of every module run against the lab.

The examples are taken from ``ansible-doc --json``, parsed as a task list and wrapped in a play on localhost. Three
things are changed, deliberately, and nothing else:

- the connection options (``spp_url``, ``vcenter_password`` ...) are removed from the collection's tasks, because
  examples name hosts such as spp.example.com and vault variables; the connection then comes from the environment
  variables (SPP_URL, VMWARE_HOST ...), as the modules document;
- a ``dest`` directory (coverage_report writes to /srv/reports/...) is moved under the test's temporary directory;
- a moref that an example names (``vm: vm-42``) becomes the moref of the VM prepared for it, as vCenter gives morefs.

Everything else the examples name (VMs, folders, networks, disks, SLA policies, recovery points, variables) is
prepared in the lab first, from PREPARATION; a test checks that the preparation covers every name the examples use
and every module, so an edited example fails with a clear message rather than with a lab that lacks its VM. After the
run, the end state each module's examples promise is read back from vCenter (pyVmomi) and the backup server
(helpers.SppReader), never through the collection's client.
"""

from __future__ import annotations

import csv
import datetime
import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

import vcenter
from ansible_warnings import our_warnings
from helpers import assign_policies, back_up, create_sla_policy
from ansible_collections.sovereign.vm_backup.plugins.doc_fragments.connection import ModuleDocFragment

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
ANSIBLE_DOC = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
PREFIX = "sovereign.vm_backup."
MODULES = sorted(os.path.basename(path)[:-3] for path in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))
                 if not path.endswith("__init__.py"))
# The connection options as the collection documents them (doc fragment sovereign.vm_backup.connection).
CONNECTION_OPTIONS = frozenset(option for fragment in (ModuleDocFragment.SPP, ModuleDocFragment.VCENTER)
                               for option in yaml.safe_load(fragment)["options"])
DEFAULT_POLICIES = frozenset(("Gold", "Silver", "Bronze"))
TEMPLATE_VARIABLE = re.compile(r"{{\s*([A-Za-z_]\w*)")
MOREF = re.compile(r"^vm-\d+$")

LAB_VMS = ("DC0_H0_VM0", "DC0_H0_VM1", "DC0_H0_VM2", "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_C0_RP0_VM2")

# What each module's EXAMPLES need in the lab:
# - ``folders`` and ``networks`` (port groups on every host) to create;
# - ``known_vms`` exist before the last inventory, ``new_vms`` after it (examples with ``rescan`` or
#   ``rescan_until_visible`` make them known); values are the VM's folder (None: the source VM's folder). VMs are
#   clones of DC0_H0_VM0, powered off (``powered_on`` lists those to start), in site Primary, with "Hard disk 1";
# - ``disks`` to add; ``nics_on``: the network of a VM's NICs; ``policies`` to create (name: site); ``by_hand``:
#   policy sets assigned as someone would in the console; ``backups``: ad hoc backups, in order, each moved back to
#   the time ``at`` when it has one;
# - ``morefs``: a moref an example names -> the prepared VM whose moref replaces it; ``vars`` of the play;
# - ``warnings``: texts of the warnings the examples are meant to give (any other warning of ours fails the test).
PREPARATION = {
    # The gate example fails on running VMs without a policy: the lab's VMs get one, as someone would give it.
    "backup_inventory": {"new_vms": {"app01": None, "app02": None},
                         "by_hand": {name: ["Gold"] for name in LAB_VMS}},
    "backup_sla_policy": {"known_vms": {"app01": None}, "policies": {"Legacy": "Secondary"}},
    # One lab VM on Gold, never backed up: the late-Gold CSV lists it.
    "coverage_report": {"by_hand": {"DC0_H0_VM0": ["Gold"]}},
    "vm_backup_policy": {
        "folders": ["/DC0/vm/prod"],
        "known_vms": {"legacy01": None, "web01": "/DC0/vm/prod"},
        "new_vms": {"db01": "/DC0/vm/prod"},
        "by_hand": {"web01": ["Bronze"]},  # the drift that the authoritative example removes
        "disks": {"db01": ["Hard disk 2"]},
        "policies": {"Silver-DR": "DR"},  # a disk policy targets another site than the VM's
        "vars": {"sla_assignments": [{"folder": "/DC0/vm/prod", "policies": ["Gold"]},
                                     {"vm": "db01", "disk": "Hard disk 2", "policies": ["Silver-DR"]}]},
    },
    # app01 on Gold, so that the whole-policy run backs it up; batch01 alone on Silver, started without waiting.
    "vm_backup_run": {"known_vms": {"web01": None, "db01": None, "app01": None, "batch01": None},
                      "by_hand": {"web01": ["Gold"], "db01": ["Gold"], "app01": ["Gold"], "batch01": ["Silver"]}},
    # ci-runner-01 is protected and off; the VM behind vm-42 runs; appliance01 is off and unknown to the backup server.
    "vm_powerstate": {"known_vms": {"ci-runner-01": None, "web02": None}, "new_vms": {"appliance01": None},
                      "powered_on": ["web02"], "by_hand": {"ci-runner-01": ["Gold"]}, "morefs": {"vm-42": "web02"}},
    # web01 has a point from before the incident date of the clone example, and a fresh one; db01 a fresh one.
    "vm_restore": {"folders": ["/DC0/vm/restored"], "networks": ["isolated-net"],
                   "known_vms": {"web01": None, "db01": None}, "powered_on": ["web01", "db01"],
                   "nics_on": {"web01": "VM Network"},  # the network the clone example maps to isolated-net
                   "by_hand": {"web01": ["Gold"], "db01": ["Gold"]},
                   "backups": [{"policy": "Gold", "vms": ["web01"], "at": "2026-01-30T22:00:00Z"},
                               {"policy": "Gold", "vms": ["web01", "db01"]}],
                   # promotion and a production restore give the VM a new moref: the module says to protect it again
                   "warnings": ["VM web01 now has a new moref", "VM db01 now has a new moref"]},
}


def ansible_doc(*args, collections=COLLECTIONS):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               ANSIBLE_NOCOLOR="1")
    return subprocess.run([ANSIBLE_DOC, "-t", "module"] + list(args), env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def examples_of(module):
    completed = ansible_doc("--json", PREFIX + module)
    assert completed.returncode == 0, completed.stderr
    examples = json.loads(completed.stdout)[PREFIX + module]["examples"]
    tasks = yaml.safe_load(examples)
    assert isinstance(tasks, list) and tasks, "EXAMPLES of %s is not a list of tasks" % module
    return tasks


def collection_action(task):
    """``(fqcn, args)`` of a task that calls one of this collection's modules, else ``(None, None)``."""
    for key, value in task.items():
        if key.startswith(PREFIX):
            return key, value if isinstance(value, dict) else {}
    return None, None


def without_connection_options(task):
    action, args = collection_action(task)
    if action is None:
        return task
    return dict(task, **{action: {k: v for k, v in args.items() if k not in CONNECTION_OPTIONS}})


def for_the_lab(task, workdir, morefs):
    """The task with ``dest`` moved under ``workdir`` and the morefs it names replaced (see the module docstring)."""
    action, args = collection_action(task)
    if action is None:
        return task
    args = dict(args)
    if isinstance(args.get("dest"), str):
        args["dest"] = os.path.join(str(workdir), "reports", os.path.basename(args["dest"].rstrip("/")))
    if args.get("vm") in morefs:
        args["vm"] = morefs[args["vm"]]
    return dict(task, **{action: args})


def literal(value):
    return isinstance(value, str) and "{{" not in value


def referenced(tasks):
    """The VMs, folders, networks, policies and variables that the tasks name (literal names only)."""
    names = {"vms": set(), "morefs": set(), "folders": set(), "networks": set(), "policies": set(), "vars": set()}
    created, registered = set(DEFAULT_POLICIES), set()
    for task in tasks:
        action, args = collection_action(task)
        names["vars"].update(TEMPLATE_VARIABLE.findall(json.dumps(task)))
        registered.add(task.get("register"))
        if any(key == "loop" or key.startswith("with_") for key in task):
            registered.add((task.get("loop_control") or {}).get("loop_var", "item"))
        if action is None:
            continue
        items = [args] + [item for item in args.get("assignments") or [] if isinstance(item, dict)]
        for item in items:
            for vm in [item.get("vm")] + list(item.get("vms") or []):
                if literal(vm):
                    names["morefs" if MOREF.match(vm) else "vms"].add(vm)
            names["folders"].update(v for v in [item.get("folder"), item.get("scope")] if literal(v) and v != "all")
            names["policies"].update(p for p in list(item.get("policies") or []) + [item.get("policy")]
                                     if literal(p) and p not in created)
        names["networks"].update(v for v in (args.get("network_map") or {}).values() if literal(v))
        names["vms"].update(v for v in args.get("rescan_until_visible") or [] if literal(v))
        if action == PREFIX + "backup_sla_policy":
            if args.get("site") and args.get("state", "present") == "present":
                created.add(args["name"])
            elif args["name"] not in created:
                names["policies"].add(args["name"])  # held, released or deleted: it must exist first
    names["vars"] -= registered
    return names


def prepare(lab, preparation, created):
    """Build what the examples need; ``created`` collects what was made (``vms``, ``networks``), for the cleanup.
    Returns the morefs to put in the examples."""
    def clone(client, group):
        for name, folder in sorted(preparation.get(group, {}).items()):
            vcenter.clone_vm(client, "DC0_H0_VM0", name, folder=folder)
            created["vms"].append(name)
            for label in preparation.get("disks", {}).get(name, []):
                vcenter.add_disk(client, name, label)
            if name in preparation.get("nics_on", {}):
                vcenter.move_nics(client, name, preparation["nics_on"][name])

    with lab.vcenter() as client:
        for folder in preparation.get("folders", []):
            vcenter.create_folder(client, folder)
        for network in preparation.get("networks", []):
            vcenter.add_port_group(client, network)
            created["networks"].append(network)
        clone(client, "known_vms")
    lab.admin("POST", "/inventory")  # the backup server's inventory of this moment
    for name, site in sorted(preparation.get("policies", {}).items()):
        create_sla_policy(lab, name, site)
    assign_policies(lab, vms=preparation.get("by_hand", {}))  # as someone would in the console
    for backup in preparation.get("backups", []):
        session = back_up(lab, backup["policy"], backup["vms"])
        if backup.get("at"):
            hours = (datetime.datetime.now(datetime.timezone.utc) - utc(backup["at"])).total_seconds() / 3600
            assert hours > 0, "the lab's clock is before %s" % backup["at"]
            ids = [vm["id"] for name, vm in lab.spp.vms().items() if name in backup["vms"]]
            lab.admin("POST", "/age", {"hours": hours, "vms": ids, "sessions": [session["id"]]})
    with lab.vcenter() as client:
        clone(client, "new_vms")
        for name in preparation.get("powered_on", []):
            vcenter.power_on(client, name)
        return {moref: vcenter.moref(vcenter.find_vm(client, name))
                for moref, name in preparation.get("morefs", {}).items()}


def utc(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def cleanup(lab, preparation, created):
    with lab.vcenter() as client:
        for name in vcenter.all_vm_names(client):
            if any(name == vm or name.startswith(vm + "_") for vm in created["vms"]):  # restored copies too
                vcenter.destroy_vm(client, name)
        for folder in reversed(preparation.get("folders", [])):
            vcenter.destroy_folder(client, folder)
        for network in created["networks"]:
            vcenter.remove_port_group(client, network)
    if created["networks"]:
        lab.admin("POST", "/inventory")


# -- the end state each module's examples promise -----------------------------------------------------------------

def backup_inventory_effects(lab, _workdir):
    vms = lab.spp.state()["vms"]
    assert "app01" in vms and "app02" in vms, "rescan_until_visible made the new VMs known"


def backup_sla_policy_effects(lab, _workdir):
    state = lab.spp.state()
    assert "Legacy" not in state["policies"]
    subpolicy = state["policies"]["Daily-30d"]["spec"]["subpolicy"][0]
    assert subpolicy["site"] == "Secondary" and subpolicy["retention"] == {"age": 30}
    assert state["vms"]["app01"] == ["Daily-30d"] and "vmware_Daily-30d" not in state["held"], "held, then released"


def coverage_report_effects(lab, workdir):
    reports = os.path.join(str(workdir), "reports")
    assert sorted(os.listdir(os.path.join(reports, "backup"))) == ["coverage.csv", "coverage.html", "coverage.json"]
    with open(os.path.join(reports, "backup", "coverage.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    with lab.vcenter() as client:
        assert sorted(vm["name"] for vm in report["vms"]) == vcenter.all_vm_names(client), "every VM of vCenter"
    assert os.listdir(os.path.join(reports, "gold-late")) == ["coverage.csv"], "formats: [csv]"
    with open(os.path.join(reports, "gold-late", "coverage.csv"), encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    gold = sorted(name for name, policies in lab.spp.state()["vms"].items() if "Gold" in policies)
    assert sorted(row[0] for row in rows) == gold == ["DC0_H0_VM0"], "the Gold VM never backed up"


def vm_backup_policy_effects(lab, _workdir):
    state = lab.spp.state()
    assert state["vms"]["web01"] == ["Gold"], "Bronze, assigned by hand in the managed folder, was purged"
    assert state["vms"]["db01"] == ["Gold"]
    assert state["disks"][("db01", "Hard disk 2")] == ["Silver-DR"]
    assert state["disks"][("db01", "Hard disk 1")] == []
    assert state["vms"]["legacy01"] == ["Bronze"]
    assert lab.spp.options_of("legacy01")["makeApplicationConsistent"] is False


def vm_backup_run_effects(lab, _workdir):
    reader = lab.spp
    started = reader.sessions("vmware_Silver")
    assert len(started) == 1, "the backup of batch01 was started"
    assert reader.wait_until_settled(started[0]["id"])["status"] == "COMPLETED"
    points = {name: reader.versions_of(name) for name in ("web01", "db01", "app01", "batch01")}
    counts = {name: len(versions) for name, versions in points.items()}
    assert counts == {"web01": 1, "db01": 1, "app01": 2, "batch01": 1}, \
        "web01 and db01 backed up once (the whole-policy run skips them), app01 twice"
    assert all(v["protectionInfo"]["storageProfileName"] == "Gold" for name in ("web01", "db01", "app01")
               for v in points[name])
    assert points["batch01"][0]["sessionId"] == started[0]["id"]


def vm_powerstate_effects(lab, _workdir):
    with lab.vcenter() as client:
        assert vcenter.power_state(client, "ci-runner-01") == "poweredOn", "protected: started"
        assert vcenter.power_state(client, "web02") == "poweredOff", "shut down by its moref"
        assert vcenter.power_state(client, "appliance01") == "poweredOn", "started without the protection check"


def vm_restore_effects(lab, _workdir):
    before_incident = [v["id"] for v in lab.spp.versions_of("web01")
                       if int(v["protectionInfo"]["protectionTime"]) < utc("2026-01-31T22:00:00Z").timestamp() * 1000]
    with lab.vcenter() as client:
        assert vcenter.names_like(client, "web01") == ["web01", "web01_REST"], "no test VM is left"
        web01 = vcenter.find_vm(client, "web01")
        assert vcenter.custom_value(client, web01, "sovereign.vm_backup.restore")["state"] == "promoted"
        assert vcenter.custom_value(client, web01, "sovereign.vm_backup.test")["result"] == "passed"
        clone = vcenter.find_vm(client, "web01_REST")
        marker = vcenter.custom_value(client, clone, "sovereign.vm_backup.restore")
        assert marker["mode"] == "clone" and [marker["recovery_point"]["id"]] == before_incident
        assert vcenter.folder_path(clone) == "/DC0/vm/restored"
        assert "isolated-net" in vcenter.networks_of(clone) and "VM Network" not in vcenter.networks_of(clone)
        assert vcenter.names_like(client, "db01") == ["db01", "db01_OLD"]
        assert vcenter.power_state(client, "db01_OLD") == "poweredOff", "kept, powered off"
        # The last example (overwrite) finds that point in production already, from the one before: no change.
        db01 = vcenter.find_vm(client, "db01")
        assert vcenter.custom_value(client, db01, "sovereign.vm_backup.restore")["mode"] == "production"
    assert all(s["status"] != "RESOURCE ACTIVE" for s in lab.spp.restore_sessions()), "no test left mounted"


EFFECTS = {"backup_inventory": backup_inventory_effects, "backup_sla_policy": backup_sla_policy_effects,
           "coverage_report": coverage_report_effects, "vm_backup_policy": vm_backup_policy_effects,
           "vm_backup_run": vm_backup_run_effects, "vm_powerstate": vm_powerstate_effects,
           "vm_restore": vm_restore_effects}


# -- tests --------------------------------------------------------------------------------------------------------

def assert_doc_renders(module, collections=COLLECTIONS):
    """ansible-doc renders the module, and says nothing about this collection on stderr (a third party's
    deprecation notice, such as cryptography's about DSA inside ansible-core, is not ours to fail on)."""
    completed = ansible_doc(PREFIX + module, collections=collections)
    assert completed.returncode == 0, completed.stderr
    assert "EXAMPLES:" in completed.stdout and "RETURN VALUES:" in completed.stdout
    assert our_warnings(completed.stderr) == [], completed.stderr


@pytest.mark.smoke
@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_the_module_with_examples(module):
    assert_doc_renders(module)
    tasks = examples_of(module)
    assert all(isinstance(task, dict) and task.get("name") for task in tasks), "every example task has a name"
    assert any(collection_action(task)[0] == PREFIX + module for task in tasks)


def test_a_warning_raised_by_our_code_fails_the_doc_check(tmp_path):
    """The check above is not blind: a copy of the collection whose doc fragment warns at import fails it."""
    copy = tmp_path / "ansible_collections" / "sovereign" / "vm_backup"
    copy.mkdir(parents=True)
    for part in ("galaxy.yml", "meta", "plugins"):
        source = os.path.join(ROOT, part)
        (shutil.copytree if os.path.isdir(source) else shutil.copyfile)(source, str(copy / part))
    fragment = copy / "plugins" / "doc_fragments" / "connection.py"
    fragment.write_text(fragment.read_text(encoding="utf-8")
                        + "\nimport warnings\nwarnings.warn('a warning of our own', UserWarning)\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="a warning of our own"):
        assert_doc_renders(MODULES[0], collections=str(tmp_path))


def test_every_module_has_its_examples_run():
    assert sorted(PREPARATION) == sorted(EFFECTS) == MODULES


@pytest.mark.parametrize("module", MODULES)
def test_the_preparation_covers_every_name_the_examples_use(module):
    preparation = PREPARATION[module]
    names = referenced([without_connection_options(task) for task in examples_of(module)])
    vms = set(preparation.get("known_vms", {})) | set(preparation.get("new_vms", {}))
    assert names["vms"] <= vms, (module, names["vms"] - vms)
    assert names["morefs"] <= set(preparation.get("morefs", {})), (module, names["morefs"])
    assert names["folders"] <= set(preparation.get("folders", [])), (module, names["folders"])
    assert names["networks"] <= set(preparation.get("networks", [])), (module, names["networks"])
    assert names["policies"] <= set(preparation.get("policies", {})), (module, names["policies"])
    assert names["vars"] <= set(preparation.get("vars", {})), (module, names["vars"])


@pytest.mark.smoke
@pytest.mark.parametrize("module", MODULES)
def test_examples_run_against_the_lab(fresh_lab, tmp_path, module):
    preparation = PREPARATION[module]
    created = {"vms": [], "networks": []}
    try:
        morefs = prepare(fresh_lab, preparation, created)
        tasks = [for_the_lab(without_connection_options(task), tmp_path, morefs) for task in examples_of(module)]
        play = [{"name": "EXAMPLES of %s%s" % (PREFIX, module), "hosts": "localhost", "connection": "local",
                 "gather_facts": False, "vars": preparation.get("vars", {}), "tasks": tasks}]
        playbook = tmp_path / ("examples_%s.yml" % module)
        playbook.write_text(yaml.safe_dump(play, sort_keys=False), encoding="utf-8")
        _rc, output, _results = fresh_lab.playbook(str(playbook))
        assert re.search(r"localhost\s+: ok=%d\s+changed=\d+\s+unreachable=0\s+failed=0" % len(tasks), output), output
        expected = preparation.get("warnings", [])
        assert [w for w in our_warnings(output) if not any(text in w for text in expected)] == [], output
        EFFECTS[module](fresh_lab, tmp_path)
    finally:
        cleanup(fresh_lab, preparation, created)
