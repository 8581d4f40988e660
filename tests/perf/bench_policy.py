# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``policy``: 1,000 VM assignments converged by one ``vm_backup_policy`` task, against a loop of single-VM tasks.

Both run as real ``ansible-playbook`` processes against the lab. The bulk task is timed on its first apply and on
the no-op rerun, with the emulator's request counters cleared before each. The peer is the same module driven the
way other collections make users work, one VM per loop iteration; it is timed on an even sample of the VMs and
extrapolated linearly to 1,000 (the fixed start-up of ansible-playbook, measured on an empty play, counted once).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import tempfile

from benchlib import (
    COLLECTIONS,
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

VM_COUNT = 1000
MODEL = {"hosts": 4, "vms": 250, "clusters": 0}  # vcsim: 4 standalone hosts with 250 VMs each
# The bulk task gives every VM one of these sets, in turn: the apply needs one write per distinct set.
POLICY_SETS = (["Gold"], ["Silver"], ["Gold", "Silver"])
LOOP_SAMPLE = 50
LOOP_POLICY = "Bronze"  # not in any bulk set, so that every loop iteration really writes
MODULE_PAGE_SIZE = 1000  # the page size of every listing the module reads
WRITE = "POST /ngp/hypervisor"  # applySLAPolicies (and applyOptions, which this benchmark does not set)
PLAYBOOK_TIMEOUT = 900
MODULE = "sovereign.vm_backup.vm_backup_policy"


class Playbooks:
    """Writes playbooks into a directory and runs them with the venv's ansible-playbook against the lab."""

    def __init__(self, directory, lab_env):
        self.directory = directory
        self.env = dict(os.environ)
        self.env.update(lab_env)
        self.env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
                        ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR="1",
                        ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")

    def write(self, name, tasks, variables=None):
        """A one-play playbook on localhost; JSON is valid YAML, so it is written as JSON."""
        play = {"name": name, "hosts": "localhost", "connection": "local", "gather_facts": False,
                "vars": variables or {}, "tasks": tasks}
        path = os.path.join(self.directory, name + ".yml")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump([play], handle, indent=1)
        return path

    def run(self, path):
        """Run a playbook; return ``(seconds, changed)`` where ``changed`` is the recap's count for localhost."""
        with Stopwatch() as watch:
            completed = subprocess.run([ansible_playbook(), path], env=self.env, capture_output=True, text=True,
                                       timeout=PLAYBOOK_TIMEOUT, check=False)
        output = completed.stdout + completed.stderr
        if completed.returncode != 0:
            raise BenchError("%s exited with %d:\n%s" % (os.path.basename(path), completed.returncode, output[-4000:]))
        found = re.search(r"^localhost\s*:\s*ok=\d+\s+changed=(\d+)", output, re.MULTILINE)
        return watch.seconds, int(found.group(1)) if found else None


def desired_assignments(names):
    return [{"vm": name, "policies": POLICY_SETS[index % len(POLICY_SETS)]} for index, name in enumerate(names)]


def bulk_task(assignments_var):
    return [{"name": "Converge every assignment in one task", MODULE: {"assignments": "{{ %s }}" % assignments_var}}]


def loop_task(names_var):
    return [{"name": "One VM per task", MODULE: {"vm": "{{ item }}", "policies": [LOOP_POLICY]},
             "loop": "{{ %s }}" % names_var}]


def expect(what, actual, wanted):
    if actual != wanted:
        progress("WARNING: %s is %s, expected %s" % (what, actual, wanted))


class Measured:
    """One playbook run with the SPP requests it caused."""

    def __init__(self, seconds, changed, counts):
        self.seconds = seconds
        self.changed = changed
        self.counts = counts

    @property
    def requests(self):
        return sum(self.counts.values())

    @property
    def writes(self):
        return self.counts.get(WRITE, 0)


def measure(playbooks, emulator, path):
    emulator.clear_request_counts()
    seconds, changed = playbooks.run(path)
    return Measured(seconds, changed, emulator.request_counts())


def listing_pages(env, counts):
    """Pages needed to read the listings behind the GET paths in ``counts``, at the module's page size.

    A GET path is a listing when its answer carries ``total``; it needs ``ceil(total / page size)`` pages, at least 1.
    Returns ``(pages, requests made on those paths)``.
    """
    pages = requests_made = 0
    with spp_client(env) as client:
        for key, count in sorted(counts.items()):
            method, path = key.split(" ", 1)
            if method != "GET":
                continue
            answer = client.get(path, params={"pageSize": 1, "pageStartIndex": 0})
            if isinstance(answer, dict) and "total" in answer:
                pages += max(1, math.ceil(int(answer["total"]) / MODULE_PAGE_SIZE))
                requests_made += count
    return pages, requests_made


def distinct_vm_sets(emulator):
    return len({tuple(sorted(policies)) for policies in emulator.state()["vm_policies"].values() if policies})


def bench_bulk(playbooks, emulator, env, names):
    path = playbooks.write("bulk", bulk_task("wanted"), {"wanted": desired_assignments(names)})
    progress("policy: bulk apply of %d assignments" % len(names))
    apply = measure(playbooks, emulator, path)
    distinct = distinct_vm_sets(emulator)
    progress("policy: bulk no-op rerun")
    noop = measure(playbooks, emulator, path)
    pages, listing_requests = listing_pages(env, noop.counts)
    progress("policy: apply requests %s" % json.dumps(apply.counts, sort_keys=True))
    progress("policy: no-op requests %s" % json.dumps(noop.counts, sort_keys=True))
    expect("the apply's changed count", apply.changed, 1)
    expect("the no-op's changed count", noop.changed, 0)
    expect("the apply's writes", apply.writes, distinct)

    report("policy_converge_apply_%d" % VM_COUNT, apply.seconds, "s")
    report("policy_converge_noop_%d" % VM_COUNT, noop.seconds, "s")
    report("policy_converge_apply_%d_requests" % VM_COUNT, apply.requests, "requests")
    report("policy_converge_apply_%d_writes" % VM_COUNT, apply.writes, "requests")
    report("policy_converge_apply_%d_distinct_sets" % VM_COUNT, distinct)
    report("policy_converge_noop_%d_requests" % VM_COUNT, noop.requests, "requests")
    report("policy_converge_noop_%d_writes" % VM_COUNT, noop.writes, "requests")
    report("policy_converge_noop_%d_listing_requests" % VM_COUNT, listing_requests, "requests")
    report("policy_converge_noop_%d_listing_pages" % VM_COUNT, pages, "pages")
    return apply.seconds


def bench_startup(playbooks):
    """Seconds ansible-playbook takes for an empty play: the fixed cost of any run (and a warm-up)."""
    startup = playbooks.run(playbooks.write("empty", []))[0]
    report("policy_playbook_startup", startup, "s")
    return startup


def bench_loop(playbooks, emulator, names, startup):
    """Seconds a loop over all ``names`` would take, extrapolated from an even sample."""
    sample = names[::max(1, len(names) // LOOP_SAMPLE)][:LOOP_SAMPLE]
    path = playbooks.write("loop", loop_task("sample"), {"sample": sample})
    progress("policy: loop of %d single-VM tasks" % len(sample))
    loop = measure(playbooks, emulator, path)
    expect("the loop's writes", loop.writes, len(sample))
    report("policy_loop_sample_%d" % len(sample), loop.seconds, "s")
    report("policy_loop_sample_%d_requests" % len(sample), loop.requests, "requests")
    extrapolated = startup + (loop.seconds - startup) * len(names) / len(sample)
    report("policy_loop_%d_extrapolated" % VM_COUNT, extrapolated, "s")
    return extrapolated


def run():
    with running_lab("policy", **MODEL) as lab, tempfile.TemporaryDirectory(prefix="bench-policy-plays-") as plays:
        emulator = Emulator(lab.env)
        names = sorted(vm["name"] for vm in emulator.state()["vms"].values())
        if len(names) != VM_COUNT:
            raise BenchError("the lab has %d VMs, not %d" % (len(names), VM_COUNT))
        playbooks = Playbooks(plays, lab.env)
        startup = bench_startup(playbooks)
        bulk = bench_bulk(playbooks, emulator, lab.env, names)
        loop = bench_loop(playbooks, emulator, names, startup)
    report("policy_loop_vs_bulk_ratio", ratio(loop, bulk))
