# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection as users get it: the tarball that `ansible-galaxy collection build` makes, installed into an empty
collections path of a fresh virtual environment that holds only ansible-core and requirements.txt.

The playbook and the role run from that installation (by their FQCN), never from this checkout; the end state is read
from the emulator's admin state and through plain pyVmomi.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
import tarfile

import ansible
import pytest

import vcenter
from helpers import recap

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("built_collection")]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEV_BIN = os.path.dirname(sys.executable)
NEVER_SHIPPED = ("tests/", ".lab/", ".venv/", ".build/", ".cache/", "extensions/", "Makefile")
SOURCE = "DC0_H0_VM1"
CLONE = "DC0_H0_VM1_FROM_TARBALL"


def users_env(collections):
    """An environment that knows only the installed collection: neither this checkout's collections path (which
    `make` exports) nor Python's own path may serve it."""
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")


def run(argv, **kwargs):
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False, **kwargs)
    assert completed.returncode == 0, (argv, (completed.stdout + completed.stderr)[-4000:])
    return completed


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(tarball, venv bin directory, collections path) of the built collection installed as users install it."""
    work = tmp_path_factory.mktemp("built")
    run([os.path.join(DEV_BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(work / "dist"), ROOT])
    (tarball,) = glob.glob(str(work / "dist" / "sovereign-vm_backup-*.tar.gz"))
    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    # Users bring their own ansible-core; the one this suite runs on is the one whose behaviour the tests know.
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-r", os.path.join(ROOT, "requirements.txt"),
         "ansible-core==%s" % ansible.__version__])
    collections = work / "collections"
    run([str(venv / "bin" / "ansible-galaxy"), "collection", "install", "-p", str(collections), tarball],
        env=users_env(str(collections)))
    return tarball, str(venv / "bin"), str(collections)


def playbook(lab, installed_collection, *args):
    _tarball, bin_dir, collections = installed_collection
    env = lab.command_env()
    env.update(ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_PYTHON_INTERPRETER=os.path.join(bin_dir, "python"),
               PATH=bin_dir + os.pathsep + env.get("PATH", ""))
    completed = run([os.path.join(bin_dir, "ansible-playbook")] + list(args), env=env)
    return completed.stdout


def test_the_tarball_holds_the_collection_and_nothing_of_the_lab(installed):
    tarball, bin_dir, collections = installed
    with tarfile.open(tarball) as archive:
        members = archive.getnames()
    assert "MANIFEST.json" in members and "plugins/modules/vm_restore.py" in members
    assert "roles/restore_clone/meta/argument_specs.yml" in members and "requirements.txt" in members
    assert [m for m in members if m.startswith(NEVER_SHIPPED) or "/." in "/" + m or "__pycache__" in m] == []
    listed = run([os.path.join(bin_dir, "ansible-galaxy"), "collection", "list", "-p", collections],
                 env=users_env(collections))
    assert re.search(r"sovereign\.vm_backup\s+0\.\d+\.\d+", listed.stdout), listed.stdout


def test_converge_sla_runs_from_the_installed_collection(fresh_lab, installed):
    first = playbook(fresh_lab, installed, "sovereign.vm_backup.converge_sla")
    second = playbook(fresh_lab, installed, "sovereign.vm_backup.converge_sla")

    assert recap(first)["changed"] > 0 and recap(first)["failed"] == 0, first[-3000:]
    assert recap(second)["changed"] == 0, second[-3000:]
    state = fresh_lab.admin("GET", "/state")
    names = {vm_id: vm["name"] for vm_id, vm in state["vms"].items()}
    policies = {names[vm_id]: sorted(p) for vm_id, p in state["vm_policies"].items() if vm_id in names}
    assert "Daily-DR" in {sla["name"] for sla in state["slas"]}
    declared = {name: ["Gold"] if name.startswith("DC0_H0_") else ["Silver"]
                for name in names.values() if name.startswith(("DC0_H0_", "DC0_C0_"))}
    assert declared and {name: policies.get(name) for name in declared} == declared
    assert ["Daily-DR"] in state["disk_policies"].values()


def test_a_restore_role_runs_from_the_installed_collection(fresh_lab, installed, tmp_path):
    play = tmp_path / "clone.yml"
    play.write_text("""---
- name: Back up, then clone from the backup, with the installed collection
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Protect the source
      sovereign.vm_backup.vm_backup_policy:
        vm: %(source)s
        policies: [Gold]
    - name: Back it up
      sovereign.vm_backup.vm_backup_run:
        vms: [%(source)s]
        timeout: 300
    - name: Clone it from its latest backup
      ansible.builtin.include_role:
        name: sovereign.vm_backup.restore_clone
      vars:
        restore_clone_vm: %(source)s
        restore_clone_name: %(clone)s
""" % {"source": SOURCE, "clone": CLONE}, encoding="utf-8")
    try:
        output = playbook(fresh_lab, installed, str(play))
        assert recap(output)["failed"] == 0, output[-3000:]
        with fresh_lab.vcenter() as vsphere:
            source, clone = vcenter.find_vm(vsphere, SOURCE), vcenter.find_vm(vsphere, CLONE)
            assert clone is not None, output[-3000:]
            assert clone.config.instanceUuid != source.config.instanceUuid
    finally:
        with fresh_lab.vcenter() as vsphere:
            vcenter.destroy_vm(vsphere, CLONE)


def test_the_execution_environment_context_installs_our_python_requirements(installed, tmp_path):
    """`ansible-builder create` makes the build context of execution-environment.yml (no image is built: no registry
    can be reached). Its introspection, run on the collection installed from the tarball, finds requirements.txt
    through meta/execution-environment.yml, and pip accepts the combined list."""
    _tarball, bin_dir, collections = installed
    context = tmp_path / "context"
    run([os.path.join(DEV_BIN, "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", str(context)],
        cwd=ROOT)
    with open(os.path.join(ROOT, "requirements.txt"), encoding="utf-8") as handle:
        assert (context / "_build" / "requirements.txt").read_text(encoding="utf-8") == handle.read()
    (containerfile,) = [p for p in (context / "Containerfile", context / "Dockerfile") if p.exists()]
    assert "introspect --user-pip=requirements.txt" in containerfile.read_text(encoding="utf-8")
    assert "sovereign.vm_backup" in (context / "_build" / "requirements.yml").read_text(encoding="utf-8")

    introspect = [os.path.join(bin_dir, "python"), str(context / "_build" / "scripts" / "introspect.py"), "introspect"]
    assert os.path.isfile(os.path.join(collections, "ansible_collections", "sovereign", "vm_backup", "meta",
                                       "execution-environment.yml"))
    found = run(introspect + [collections]).stdout  # what the installed collection itself declares
    for package in ("pyvmomi", "requests"):
        assert re.search(r"^- '%s\b.*# from collection sovereign\.vm_backup'$" % package, found, re.M), found
    combined = tmp_path / "combined.txt"  # what the builder stage of the Containerfile hands to pip
    run(introspect + ["--user-pip", str(context / "_build" / "requirements.txt"), "--write-pip", str(combined),
                      collections])
    assert {"pyvmomi", "requests"} <= set(re.findall(r"^([A-Za-z0-9_.-]+)", combined.read_text(encoding="utf-8"), re.M))
    run([os.path.join(bin_dir, "python"), "-m", "pip", "install", "--dry-run", "-q", "-r", str(combined)])
