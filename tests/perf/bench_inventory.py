# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``inventory``: the full coverage report of every VM, against ``community.vmware.vmware_vm_info``.

Both sides are one task run by a real ``ansible-playbook``: ours from the project's venv with the project's
collections, the peer from a venv of its own (``make peer-venv``: the ``ansible`` community bundle) with only the
collections that bundle ships. A callback (``callbacks/task_times.py``) times each task from its start to its result
on the controller, so ansible-playbook's start-up is not counted on either side; a ``ping`` task before the measured
one warms up the same machinery for both. The backup server is given realistic state first: SLA policies at VM and
disk level on most VMs, and two backup sessions with recovery points.

The 2,750-VM lab measures both tools; the 10,000-VM lab measures ours only (the peer would take some six minutes),
under the emulator's default profile and then under its public-record profile (spp-api.md 14.17), where the VM listing
carries no last backup time and the vdisk search answers 404, so that ours reads disks and recovery points per VM in
its bounded pool of threads.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import tempfile

import bench_listing
from benchlib import (
    COLLECTIONS,
    HERE,
    ROOT,
    BenchError,
    Emulator,
    Stopwatch,
    ansible_playbook,
    progress,
    ratio,
    report,
    running_lab,
    spp_client,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import backup as spp_backup
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import policies as spp_policies
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers

VM_COUNT = 2750
MODEL = {"hosts": 10, "vms": 250, "clusters": 1}  # vcsim: 10 standalone hosts x 250 VMs + one cluster's pool of 250
LARGE_VM_COUNT = bench_listing.VM_COUNT  # the listing section's lab: 20 standalone hosts x 500 VMs
LARGE_MODEL = bench_listing.MODEL

MODULE = "sovereign.vm_backup.backup_inventory"
PEER_MODULE = "community.vmware.vmware_vm_info"
PEER_VENV = os.path.join(ROOT, ".venv-peer")  # made by `make peer-venv`
PEER_BIN = os.path.join(PEER_VENV, "bin")
CALLBACK_DIR = os.path.join(HERE, "callbacks")
CALLBACK = "task_times"
PLAYBOOK_TIMEOUT = 1800
SESSION_TIMEOUT = 600

# Backup server state, by VM position in name order (every 20 VMs): 1 Silver, 1 Bronze on its first disk only,
# 1 without policy, 17 Gold. A few Silver VMs are backed up (COMPLETED), and a few Bronze ones with one injected
# failure (PARTIAL), so that recovery points and job sessions exist.
CYCLE = 20
SILVER, BRONZE_DISK, NO_POLICY = 0, 1, 2  # positions in each cycle; every other position is Gold
GOLD = "gold"
BACKED_UP = 10
FAILING_VM_MESSAGE = "benchmark: injected failure"
PUBLIC_RECORD = "public-record"  # the emulator profile that implements only what the public record shows


class Tool:
    """One ``ansible-playbook`` with its own interpreter and collections, run against the lab."""

    def __init__(self, label, executable, interpreter, collections_path, lab_env, extra_env=None):
        self.label = label
        self.executable = executable
        self.env = dict(os.environ)
        for variable in ("ANSIBLE_CONFIG", "PYTHONPATH", "VIRTUAL_ENV"):
            self.env.pop(variable, None)
        self.env.update(lab_env)
        self.env.update(
            PATH=os.path.dirname(executable) + os.pathsep + self.env.get("PATH", ""),
            ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
            ANSIBLE_PYTHON_INTERPRETER=interpreter, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_CALLBACK_PLUGINS=CALLBACK_DIR,
            ANSIBLE_CALLBACKS_ENABLED=CALLBACK)
        self.env.update(extra_env or {})

    def run_task(self, directory, name, module, args=None, variables=None):
        """Run ``module`` (default options, or ``args``) after a warm-up ``ping``; return ``(task seconds, result)``.

        ``variables`` become the play's vars. The task is timed by the callback; the whole ansible-playbook run is timed
        too, for stderr only.
        """
        play = {"name": name, "hosts": "localhost", "connection": "local", "gather_facts": False,
                "vars": variables or {}, "tasks": [
                    {"name": "Warm up", "ansible.builtin.ping": {}},
                    {"name": name, module: args or {}},
                ]}
        playbook = os.path.join(directory, name + ".yml")
        times = os.path.join(directory, name + ".times.json")
        with open(playbook, "w", encoding="utf-8") as handle:
            json.dump([play], handle, indent=1)  # JSON is YAML
        env = dict(self.env, BENCH_TASK_TIMES=times)
        with Stopwatch() as watch:
            completed = subprocess.run([self.executable, playbook], env=env, capture_output=True, text=True,
                                       timeout=PLAYBOOK_TIMEOUT, check=False)
        if completed.returncode != 0:
            output = (completed.stdout + completed.stderr)[-4000:]
            raise BenchError("%s: %s exited with %d:\n%s" % (self.label, name, completed.returncode, output))
        try:
            with open(times, encoding="utf-8") as handle:
                tasks = json.load(handle)["tasks"]
        except (OSError, ValueError, KeyError) as error:
            raise BenchError("%s: the %s callback wrote no task times (%s)" % (self.label, CALLBACK, error)) from error
        finally:
            if os.path.exists(times):
                os.remove(times)  # results of 10,000 VMs: tens of MB
        statuses = [task["status"] for task in tasks]
        if statuses != ["ok", "ok"]:
            raise BenchError("%s: %s: task results %s, expected ok for the warm-up and the task"
                             % (self.label, name, statuses))
        warm_up, measured = tasks
        progress("%s: %s: task %.2f s, whole ansible-playbook %.2f s (warm-up ping %.2f s; load average %.1f when it "
                 "ended, on %d cores)" % (self.label, name, measured["seconds"], watch.seconds, warm_up["seconds"],
                                          os.getloadavg()[0], os.cpu_count()))
        return measured["seconds"], measured["result"]


def ours(lab_env):
    return Tool("ours", ansible_playbook(), sys.executable, COLLECTIONS, lab_env)


def peer_collections():
    """The collections of the peer's bundle; fails before any lab starts when `make peer-venv` has not run."""
    if not os.path.exists(os.path.join(PEER_VENV, ".installed")):
        raise BenchError("the peer's venv %s is missing (make peer-venv)" % PEER_VENV)
    site_packages = subprocess.run([os.path.join(PEER_BIN, "python"), "-c",
                                    "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   capture_output=True, text=True, check=True).stdout.strip()
    bundled = os.path.join(site_packages, "ansible_collections")
    if not os.path.isdir(os.path.join(bundled, "community", "vmware")):
        raise BenchError("community.vmware is not in %s (make peer-venv)" % bundled)
    return bundled


def peer(lab_env, collections_path):
    """community.vmware from the peer venv's own bundle. It has no CA option: the lab's CA reaches it through
    ``SSL_CERT_FILE``, which its ``load_default_certs()`` honours, so it verifies certificates as ours does."""
    return Tool("peer", os.path.join(PEER_BIN, "ansible-playbook"), os.path.join(PEER_BIN, "python"),
                collections_path, lab_env, {"SSL_CERT_FILE": lab_env["VMWARE_CA_PATH"]})


def describe_peer(tool):
    """Log the peer's ansible-core and community.vmware versions; fail unless that collection comes from its bundle."""
    listing = subprocess.run([os.path.join(PEER_BIN, "ansible-galaxy"), "collection", "list", "community.vmware",
                              "--format", "json"], env=tool.env, capture_output=True, text=True, check=False)
    try:
        found = {path: entries["community.vmware"]["version"]
                 for path, entries in json.loads(listing.stdout).items() if "community.vmware" in entries}
    except ValueError as error:
        raise BenchError("the peer's ansible-galaxy: %s" % (listing.stdout + listing.stderr)[-2000:]) from error
    bundled = tool.env["ANSIBLE_COLLECTIONS_PATH"]
    if list(found) != [bundled]:
        raise BenchError("the peer would load community.vmware from %s, not from %s only" % (sorted(found), bundled))
    core = subprocess.run([os.path.join(PEER_BIN, "python"), "-c", "import ansible; print(ansible.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    progress("peer: ansible-core %s, community.vmware %s from %s" % (core, found[bundled], bundled))


# -- the backup server's state ------------------------------------------------------------------------------------


def group_of(index):
    """The policy group of the VM at ``index`` in name order."""
    position = index % CYCLE
    return position if position in (SILVER, BRONZE_DISK, NO_POLICY) else GOLD


def populate(lab_env, vm_count):
    """Assign policies in bulk (one call per policy set) and run two ad hoc backups; return the expected counts."""
    emulator = Emulator(lab_env)
    with spp_client(lab_env) as client:
        vms = sorted(spp_listing.list_vms(client), key=lambda vm: vm["name"])
        templates = sum(1 for vm in vms if vm.get("isTemplate"))
        # The peer lists templates too (vm_type all) and ours leaves them out: with none, both must find vm_count.
        if len(vms) != vm_count or templates:
            raise BenchError("the backup server knows %d VMs (%d templates), not %d VMs and no template"
                             % (len(vms), templates, vm_count))
        groups = collections.defaultdict(list)
        for index, vm in enumerate(vms):
            groups[group_of(index)].append(vm)
        slas = {sla["name"]: sla for sla in spp_policies.list_sla_policies(client)}
        bronze_vm_ids = {vm["id"] for vm in groups[BRONZE_DISK]}
        first_disks = {}
        for disk in sorted(spp_listing.list_vdisks(client, vms=vms), key=lambda disk: int(disk["key"])):
            if disk["vmId"] in bronze_vm_ids:
                first_disks.setdefault(disk["vmId"], disk)
        spp_policies.apply_sla_policies(client, groups[GOLD], [slas["Gold"]])
        spp_policies.apply_sla_policies(client, groups[SILVER], [slas["Silver"]])
        spp_policies.apply_sla_policies(client, list(first_disks.values()), [slas["Bronze"]])

        failing = groups[BRONZE_DISK][0]["name"]
        emulator.call("POST", "/vm-failure", {"vm": failing, "message": FAILING_VM_MESSAGE})
        sessions = [spp_backup.start_adhoc_backup(client, "Silver", groups[SILVER][:BACKED_UP]),
                    spp_backup.start_adhoc_backup(client, "Bronze", groups[BRONZE_DISK][:BACKED_UP])]
        ended = spp_jobs.wait_for_sessions(client, sessions, timeout=SESSION_TIMEOUT, poll=0.5)
    state = emulator.state()
    statuses = sorted(spp_answers.session_status(session) for session in ended.values())
    versions = sum(len(found) for found in state["versions"].values())
    progress("state: %d Gold, %d Silver, %d Bronze on one disk, %d without policy; backup sessions %s; %d recovery "
             "points" % (len(groups[GOLD]), len(groups[SILVER]), len(first_disks), len(groups[NO_POLICY]),
                         ", ".join(statuses), versions))
    if len(first_disks) != len(groups[BRONZE_DISK]) or not versions:
        raise BenchError("the backup server's state is not what the benchmark set up (%d disks, %d versions)"
                         % (len(first_disks), versions))
    return {"with_vm_policy": len(groups[GOLD]) + len(groups[SILVER]), "with_disk_policy_only": len(first_disks)}


# -- checks: a broken run must not print a flattering ratio -----------------------------------------------------


def check_ours(result, vm_count, expected):
    records = result.get("vms", []) + result.get("vcenter_only", [])
    summary = result.get("summary") or {}
    if len(records) != vm_count or summary.get("vms", vm_count) != vm_count:
        raise BenchError("%s reported %d VMs (summary: %s), not %d" % (MODULE, len(records), summary.get("vms"),
                                                                       vm_count))
    if len(result["vms"]) != vm_count:
        raise BenchError("%s joined %d VMs with the backup server, not %d" % (MODULE, len(result["vms"]), vm_count))
    partial = [record["name"] for record in records if record.get("disks") is None]
    if partial:
        raise BenchError("%s left out the disks of %d VMs, e.g. %s" % (MODULE, len(partial), partial[0]))
    if "flags" in summary and summary.get("jobs") is None:
        raise BenchError("%s reported no job sessions (summary.jobs is null)" % MODULE)
    counted = {"with_vm_policy": sum(1 for record in records if record["policies"]),
               "with_disk_policy_only": sum(1 for record in records if not record["policies"]
                                            and any(disk["policies"] for disk in record["disks"]))}
    if counted != expected:
        progress("WARNING: %s reported policies %s, the benchmark assigned %s" % (MODULE, counted, expected))
    shown = {key: value for key, value in summary.items() if key not in ("per_policy", "jobs")}
    progress("ours: summary %s" % json.dumps(shown, sort_keys=True))
    if summary.get("jobs") is not None:
        progress("ours: jobs %s" % json.dumps({key: summary["jobs"].get(key) for key in ("last_24h", "last_7d")}))


def check_peer(result, vm_count):
    """Every VM once; the lab has no template (``populate`` checks), so the peer's count is comparable to ours."""
    vms = result.get("virtual_machines") or []
    distinct = {vm.get("instance_uuid") for vm in vms}
    if len(vms) != vm_count or len(distinct) != vm_count:
        raise BenchError("%s returned %d VMs (%d distinct instance UUIDs), not %d"
                         % (PEER_MODULE, len(vms), len(distinct), vm_count))


# -- the runs ------------------------------------------------------------------------------------------------------


def measure_ours(lab, plays, vm_count, label="ours"):
    """Seconds of our task over ``vm_count`` VMs, and the SPP requests it made (``{"METHOD /path": n}``)."""
    with Stopwatch() as watch:
        expected = populate(lab.env, vm_count)
    progress("inventory: backup server state set up in %.1f s" % watch.seconds)
    emulator = Emulator(lab.env)
    emulator.clear_request_counts()
    seconds, result = ours(lab.env).run_task(plays, "%s_%d" % (label, vm_count), MODULE)
    check_ours(result, vm_count, expected)
    counts = emulator.request_counts()
    sources = (result.get("summary") or {}).get("last_backup_sources")
    progress("%s: %d SPP requests (%s); last backup sources %s" % (
        label, sum(counts.values()), ", ".join("%s %d" % item for item in sorted(counts.items(), key=lambda i: -i[1])[:6]),
        json.dumps(sources, sort_keys=True)))
    return seconds, sum(counts.values())


def run():
    with tempfile.TemporaryDirectory(prefix="bench-inventory-plays-") as plays:
        peer_collections_path = peer_collections()
        with running_lab("inventory", **MODEL) as lab:
            peer_tool = peer(lab.env, peer_collections_path)
            describe_peer(peer_tool)
            ours_seconds, _requests = measure_ours(lab, plays, VM_COUNT)
            progress("inventory: %s over %d VMs (the earlier measurement took about 95 s)" % (PEER_MODULE, VM_COUNT))
            peer_seconds, result = peer_tool.run_task(plays, "peer_%d" % VM_COUNT, PEER_MODULE)
            check_peer(result, VM_COUNT)
        report("inventory_%d_ours" % VM_COUNT, ours_seconds, "s")
        report("inventory_%d_vmware_vm_info" % VM_COUNT, peer_seconds, "s")
        report("inventory_speedup_vs_vmware_vm_info", ratio(peer_seconds, ours_seconds))
        with running_lab("inventory-large", **LARGE_MODEL) as lab:
            large_seconds, large_requests = measure_ours(lab, plays, LARGE_VM_COUNT)
        report("inventory_%d_ours" % LARGE_VM_COUNT, large_seconds, "s")
        report("inventory_%d_ours_requests" % LARGE_VM_COUNT, large_requests)
        with running_lab("inventory-public-record", profile=PUBLIC_RECORD, **LARGE_MODEL) as lab:
            strict_seconds, strict_requests = measure_ours(lab, plays, LARGE_VM_COUNT, label="public_record")
        report("inventory_%d_public_record" % LARGE_VM_COUNT, strict_seconds, "s")
        report("inventory_%d_public_record_requests" % LARGE_VM_COUNT, strict_requests)
        report("inventory_public_record_vs_ours_ratio", ratio(strict_seconds, large_seconds))
