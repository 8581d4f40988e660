# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-doc renders every module, and the EXAMPLES that users read run against the lab.

The examples are taken from ``ansible-doc --json``, parsed as a task list and wrapped in a play on localhost. One
thing is changed, deliberately: the connection options (``spp_url``, ``vcenter_password`` ...) are removed from the
collection's tasks, because examples name hosts such as spp.example.com and vault variables. The connection then
comes from the environment variables (SPP_URL, VMWARE_HOST ...), as the modules document. Everything else the
examples name (VMs, folders, disks, SLA policies, variables) is prepared in the lab first, from PREPARATION; a test
checks that the preparation covers every name the examples use, so an edited example fails with a clear message
rather than with a lab that lacks its VM.
"""

from __future__ import annotations

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
from ansible_collections.sovereign.vm_backup.plugins.module_utils import _connection
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import policies as spp_policies
from test_policies import spp_state
from test_policy_rules import create_policy

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
ANSIBLE_DOC = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
PREFIX = "sovereign.vm_backup."
MODULES = sorted(os.path.basename(path)[:-3] for path in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))
                 if not path.endswith("__init__.py"))
CONNECTION_OPTIONS = frozenset(_connection.connection_argument_spec())
DEFAULT_POLICIES = frozenset(("Gold", "Silver", "Bronze"))
TEMPLATE_VARIABLE = re.compile(r"{{\s*([A-Za-z_]\w*)")

LAB_VMS = ("DC0_H0_VM0", "DC0_H0_VM1", "DC0_H0_VM2", "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_C0_RP0_VM2")

# What each module's EXAMPLES need in the lab. ``known_vms`` exist before the last inventory, ``new_vms`` after it
# (examples with ``rescan`` or ``rescan_until_visible`` make them known); values are the VM's folder (None: the
# source VM's folder). VMs are clones of DC0_H0_VM0, so they run in site Primary and have "Hard disk 1".
PREPARATION = {
    # The gate example fails on running VMs without a policy: the lab's VMs get one, as someone would give it.
    "backup_inventory": {"new_vms": {"app01": None, "app02": None},
                         "by_hand": {name: ["Gold"] for name in LAB_VMS}},
    "backup_sla_policy": {"known_vms": {"app01": None}, "policies": {"Legacy": "Secondary"}},
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


def literal(value):
    return isinstance(value, str) and "{{" not in value


def referenced(tasks):
    """The VMs, folders, policies and variables that the tasks name (literal names only)."""
    names = {"vms": set(), "folders": set(), "policies": set(), "vars": set()}
    created, registered = set(DEFAULT_POLICIES), set()
    for task in tasks:
        action, args = collection_action(task)
        names["vars"].update(TEMPLATE_VARIABLE.findall(json.dumps(task)))
        registered.add(task.get("register"))
        if action is None:
            continue
        items = [args] + [item for item in args.get("assignments") or [] if isinstance(item, dict)]
        for item in items:
            names["vms"].update(v for v in [item.get("vm")] if literal(v))
            names["folders"].update(v for v in [item.get("folder"), item.get("scope")] if literal(v) and v != "all")
            names["policies"].update(p for p in item.get("policies") or [] if literal(p) and p not in created)
        names["vms"].update(v for v in args.get("rescan_until_visible") or [] if literal(v))
        if action == PREFIX + "backup_sla_policy":
            if args.get("site") and args.get("state", "present") == "present":
                created.add(args["name"])
            elif args["name"] not in created:
                names["policies"].add(args["name"])  # held, released or deleted: it must exist first
    names["vars"] -= registered
    return names


def prepare(lab, preparation, created_vms):
    """Build what the examples need; ``created_vms`` collects the VMs made, for the caller's cleanup."""
    with lab.vsphere_client() as vsphere:
        for folder in preparation.get("folders", []):
            vcenter.create_folder(vsphere, folder)
        for group in ("known_vms", "new_vms"):
            for name, folder in sorted(preparation.get(group, {}).items()):
                vcenter.clone_vm(vsphere, "DC0_H0_VM0", name, folder=folder)
                created_vms.append(name)
                for label in preparation.get("disks", {}).get(name, []):
                    vcenter.add_disk(vsphere, name, label)
            if group == "known_vms" and preparation.get(group):
                lab.admin("POST", "/inventory")  # the backup server's inventory of this moment
    for name, site in sorted(preparation.get("policies", {}).items()):
        create_policy(lab, name, site=site)
    with lab.spp_client() as spp:
        for name, policies in sorted(preparation.get("by_hand", {}).items()):  # as someone would in the console
            vm = next(vm for vm in spp_listing.search_vms(spp, name) if vm["name"] == name)
            spp_policies.apply_sla_policies(spp, [vm], [spp_policies.find_sla_policy(spp, p) for p in policies])


def cleanup(lab, preparation, created_vms):
    with lab.vsphere_client() as vsphere:
        for name in created_vms:
            vcenter.destroy_vm(vsphere, name)
        for folder in reversed(preparation.get("folders", [])):
            vcenter.destroy_folder(vsphere, folder)


# -- the end state each module's examples promise -----------------------------------------------------------------

def backup_inventory_effects(lab, _output):
    vms = spp_state(lab)["vms"]
    assert "app01" in vms and "app02" in vms, "rescan_until_visible made the new VMs known"


def backup_sla_policy_effects(lab, _output):
    state = spp_state(lab)
    assert "Legacy" not in state["policies"]
    subpolicy = state["policies"]["Daily-30d"]["spec"]["subpolicy"][0]
    assert subpolicy["site"] == "Secondary" and subpolicy["retention"] == {"age": 30}
    assert state["vms"]["app01"] == ["Daily-30d"] and "vmware_Daily-30d" not in state["held"], "held, then released"


def vm_backup_policy_effects(lab, _output):
    state = spp_state(lab)
    assert state["vms"]["web01"] == ["Gold"], "Bronze, assigned by hand in the managed folder, was purged"
    assert state["vms"]["db01"] == ["Gold"]
    assert state["disks"][("db01", "Hard disk 2")] == ["Silver-DR"]
    assert state["disks"][("db01", "Hard disk 1")] == []
    assert state["vms"]["legacy01"] == ["Bronze"]
    with lab.spp_client() as spp:
        legacy = next(vm for vm in spp_listing.search_vms(spp, "legacy01") if vm["name"] == "legacy01")
        assert spp_policies.get_vm_options(spp, legacy)["makeApplicationConsistent"] is False


EFFECTS = {"backup_inventory": backup_inventory_effects, "backup_sla_policy": backup_sla_policy_effects,
           "vm_backup_policy": vm_backup_policy_effects}


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


def test_the_preparation_covers_every_name_the_examples_use():
    for module, preparation in PREPARATION.items():
        names = referenced([without_connection_options(task) for task in examples_of(module)])
        vms = set(preparation.get("known_vms", {})) | set(preparation.get("new_vms", {}))
        assert names["vms"] <= vms, (module, names["vms"] - vms)
        assert names["folders"] <= set(preparation.get("folders", [])), (module, names["folders"])
        assert names["policies"] <= set(preparation.get("policies", {})), (module, names["policies"])
        assert names["vars"] <= set(preparation.get("vars", {})), (module, names["vars"])


@pytest.mark.smoke
@pytest.mark.parametrize("module", sorted(PREPARATION))
def test_examples_run_against_the_lab(fresh_lab, tmp_path, module):
    preparation = PREPARATION[module]
    tasks = [without_connection_options(task) for task in examples_of(module)]
    play = [{"name": "EXAMPLES of %s%s" % (PREFIX, module), "hosts": "localhost", "connection": "local",
             "gather_facts": False, "vars": preparation.get("vars", {}), "tasks": tasks}]
    playbook = tmp_path / ("examples_%s.yml" % module)
    playbook.write_text(yaml.safe_dump(play, sort_keys=False), encoding="utf-8")
    created_vms = []
    try:
        prepare(fresh_lab, preparation, created_vms)
        _rc, output, _results = fresh_lab.playbook(str(playbook))
        assert re.search(r"localhost\s+: ok=%d\s+changed=\d+\s+unreachable=0\s+failed=0" % len(tasks), output), output
        assert our_warnings(output) == [], output
        EFFECTS[module](fresh_lab, output)
    finally:
        cleanup(fresh_lab, preparation, created_vms)
