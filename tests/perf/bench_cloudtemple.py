# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``cloudtemple``: 1,000 VM assignments through Cloud Temple's console API, one call per policy set against one call
per VM (issue 15; docs/cloudtemple-api.md 7.1 and #102 in 15).

The lab's Cloud Temple emulator fronts the SPP emulator and vcsim. Both sides use the collection's console client
(``cloudtemple/_client.CloudTempleClient``, ``backup.assign_to_vms``, ``activities.wait``), so both pay the same
token exchange, transport, pacing and activity polling:

- bulk: one ``POST /api/backup/v1/spp/policies/assign/virtual_machine`` per distinct policy set (3 over 1,000 VMs),
  each followed by a wait for its activity;
- the peer, what the Terraform provider does (#102): one assign call per VM with the VM's whole set, and a wait for
  its activity, VM after VM. It is timed on an even sample and extrapolated linearly to 1,000 VMs (the one token
  exchange counted once). The same loop is also timed with 10 VMs at a time, Terraform's default parallelism.

The end state is read from the SPP emulator's admin state, never through the client under test.
"""

from __future__ import annotations

import collections
import concurrent.futures
import importlib
import json

# benchlib first: it puts the collection on sys.path
from benchlib import BenchError, Emulator, Stopwatch, progress, ratio, report, running_lab
from ansible_collections.sovereign.vm_backup.plugins.module_utils import _errors
from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple import activities, backup, compute
from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple._client import CloudTempleClient

VM_COUNT = 1000
MODEL = {"hosts": 4, "vms": 250, "clusters": 0}  # vcsim: 4 standalone hosts with 250 VMs each (as ``policy``)
# As in ``policy``: the VMs, in name order, get these sets in turn, so the bulk side makes one call per set.
POLICY_SETS = (("Gold",), ("Silver",), ("Gold", "Silver"))
LOOP_SAMPLE = 50
PARALLELISM = 10  # terraform apply's default -parallelism
# The parallel loop takes the VMs half-way between those of the sequential one: both samples are even, neither
# touches the other's VMs.
PARALLEL_OFFSET = VM_COUNT // LOOP_SAMPLE // 2
ACTIVITY_TIMEOUT = 300  # seconds, each activity wait (the client's waits always carry a deadline, #306)
ASSIGN = "POST " + backup.ASSIGN_VM_PATH
ACTIVITY_READ = "GET " + activities.ACTIVITY_PATH + "/"
SPP_WRITE = "POST /ngp/hypervisor"  # applySLAPolicies, what the console does in SPP for each assignment
# The Cloud Temple backend of the backup seam, timed on the bulk side when it is there (an extra line, optional).
SEAM_MODULE = "ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.cloudtemple_backup"
SEAM_CLASS = "CloudTempleBackupService"


class Console(Emulator):
    """The Cloud Temple emulator's admin API (its README, "Admin API"): the request counters have the SPP emulator's
    shape (``{"counts": {"METHOD /path": n}, ...}``)."""

    def __init__(self, env):  # pylint: disable=super-init-not-called
        self.url = env["CLOUDTEMPLE_EMULATOR_ADMIN"]
        self.ca_path = env["CLOUDTEMPLE_CA_PATH"]


def console_client(env):
    return CloudTempleClient(env["CLOUDTEMPLE_URL"], env["CLOUDTEMPLE_CLIENT_ID"], env["CLOUDTEMPLE_SECRET_ID"],
                             validate_certs=True, ca_path=env["CLOUDTEMPLE_CA_PATH"])


def rotated(policy_set, steps):
    return POLICY_SETS[(POLICY_SETS.index(policy_set) + steps) % len(POLICY_SETS)]


class Bench:
    """What every side needs: the lab's variables, both emulators' admin APIs, the console's VM and policy ids (read
    once, untimed), and the policy set every VM must end with, kept up to date by each side."""

    def __init__(self, env):
        self.env = env
        self.console = Console(env)
        self.spp = Emulator(env)
        with console_client(env) as client:
            vms = compute.list_vms(client)
            policies = backup.list_policies(client)
        self.vm_ids = {vm["name"]: vm["id"] for vm in vms}
        if len(self.vm_ids) != len(vms):
            raise BenchError("the console lists %d VMs under %d names" % (len(vms), len(self.vm_ids)))
        if len(vms) != VM_COUNT:
            raise BenchError("the console lists %d VMs, not %d" % (len(vms), VM_COUNT))
        self.names = sorted(self.vm_ids)
        self.policy_ids = {policy["name"]: policy["id"] for policy in policies}
        missing = sorted({name for policy_set in POLICY_SETS for name in policy_set} - set(self.policy_ids))
        if missing:
            raise BenchError("the console has no policy %s (it has %s)"
                             % (", ".join(missing), ", ".join(sorted(self.policy_ids))))
        self.expected = {}  # VM name -> the set it must have now

    def ids_of(self, policy_set):
        return [self.policy_ids[name] for name in policy_set]

    def clear_counts(self):
        self.console.clear_request_counts()
        self.spp.clear_request_counts()

    def counts(self):
        return Counts(self.console.request_counts(), self.spp.request_counts())

    def vm_sets(self):
        """``{VM name: sorted policy names}`` as SPP has them (its admin state), for every VM with a policy."""
        state = self.spp.state()
        names = {spp_id: vm["name"] for spp_id, vm in state["vms"].items()}
        return {names.get(spp_id, spp_id): tuple(sorted(policies))
                for spp_id, policies in state["vm_policies"].items() if policies}

    def check_state(self, label):
        """WARNING lines when SPP's state is not ``expected`` or has not 3 distinct sets; returns the distinct sets."""
        actual = self.vm_sets()
        wanted = {name: tuple(sorted(policy_set)) for name, policy_set in self.expected.items()}
        wrong = sorted(name for name in set(actual) | set(wanted) if actual.get(name) != wanted.get(name))
        if wrong:
            progress("WARNING: after %s, %d VM(s) do not have the policies sent, e.g. %s: %s, expected %s"
                     % (label, len(wrong), wrong[0], actual.get(wrong[0]), wanted.get(wrong[0])))
        distinct = len(set(actual.values()))
        if distinct != len(POLICY_SETS):
            progress("WARNING: after %s, SPP holds %d distinct VM policy sets, expected %d"
                     % (label, distinct, len(POLICY_SETS)))
        return distinct


class Counts:
    """The requests one side caused: the console's (per ``METHOD /path``) and, behind it, SPP's."""

    def __init__(self, console, spp):
        self.console = {key: value for key, value in console.items() if "/__emulator__" not in key}
        self.spp = spp

    @property
    def requests(self):
        return sum(self.console.values())

    @property
    def assigns(self):
        return self.console.get(ASSIGN, 0)

    @property
    def activity_reads(self):
        return sum(value for key, value in self.console.items() if key.startswith(ACTIVITY_READ))

    @property
    def spp_writes(self):
        return self.spp.get(SPP_WRITE, 0)

    def summary(self):
        """The console's requests by route (activity reads summed), and SPP's writes, for stderr."""
        routes = collections.Counter()
        for key, value in self.console.items():
            routes[ACTIVITY_READ + "{id}" if key.startswith(ACTIVITY_READ) else key] += value
        return "%s; SPP applySLAPolicies %d" % (json.dumps(dict(sorted(routes.items()))), self.spp_writes)


def assign_and_wait(client, vm_ids, policy_ids):
    activity = backup.assign_to_vms(client, vm_ids, policy_ids)
    return activities.wait(client, activity, ACTIVITY_TIMEOUT)


def groups(assignments):
    """``{policy set: [VM names]}`` in first-seen order: one bulk call each."""
    by_set = {}
    for name, policy_set in assignments:
        by_set.setdefault(policy_set, []).append(name)
    return by_set


def measured(bench, label, work):
    """Run ``work(client)`` with a fresh client (its token exchange timed) and the counters cleared; return
    ``(seconds, seconds of the token exchange, counts)``. A console error ends the section."""
    bench.clear_counts()
    with console_client(bench.env) as client:
        try:
            with Stopwatch() as watch:
                with Stopwatch() as token:
                    client.authenticate()
                work(client)
        except _errors.VmBackupError as error:
            raise BenchError("%s: %s" % (label, error)) from error
    counts = bench.counts()
    progress("cloudtemple: %s in %.2f s: %s" % (label, watch.seconds, counts.summary()))
    return watch.seconds, token.seconds, counts


def bench_bulk(bench):
    """One assign call per distinct set for all the VMs, each waited for; the VMs start with no policy."""
    assignments = [(name, POLICY_SETS[index % len(POLICY_SETS)]) for index, name in enumerate(bench.names)]
    by_set = groups(assignments)

    def work(client):
        for policy_set, names in by_set.items():
            assign_and_wait(client, [bench.vm_ids[name] for name in names], bench.ids_of(policy_set))

    progress("cloudtemple: bulk, %d VMs in %d calls" % (len(assignments), len(by_set)))
    seconds, _token, counts = measured(bench, "bulk", work)
    bench.expected.update(assignments)
    distinct = bench.check_state("the bulk assignment")
    if counts.assigns != len(by_set) or counts.spp_writes != len(by_set):
        progress("WARNING: the bulk side made %d assign calls and %d SPP writes, expected %d of each"
                 % (counts.assigns, counts.spp_writes, len(by_set)))
    report("cloudtemple_policy_bulk_%d" % VM_COUNT, seconds, "s")
    report("cloudtemple_policy_bulk_%d_requests" % VM_COUNT, counts.requests, "requests")
    report("cloudtemple_policy_bulk_%d_assign_calls" % VM_COUNT, counts.assigns, "requests")
    report("cloudtemple_policy_bulk_%d_activity_reads" % VM_COUNT, counts.activity_reads, "requests")
    report("cloudtemple_policy_bulk_%d_spp_writes" % VM_COUNT, counts.spp_writes, "requests")
    report("cloudtemple_policy_bulk_%d_distinct_sets" % VM_COUNT, distinct)
    return seconds


def sample(names, offset):
    """``LOOP_SAMPLE`` VMs spread evenly over ``names``, starting at ``offset``."""
    step = max(1, len(names) // LOOP_SAMPLE)
    return names[offset::step][:LOOP_SAMPLE]


def bench_loop(bench, name, offset, steps, parallelism=1):
    """The provider's way (#102): each VM of a sample given its new whole set by a call of its own, waited for;
    ``parallelism`` VMs at a time. Returns the time extrapolated to ``VM_COUNT`` VMs.

    Each VM of the sample moves ``steps`` places along ``POLICY_SETS`` from the set it has, so that every call is a
    real change (the console's work does not depend on it: the set is replaced either way) and SPP still ends with
    the same 3 distinct sets.
    """
    chosen = sample(bench.names, offset)
    assignments = [(vm, rotated(bench.expected[vm], steps)) for vm in chosen]

    def one(client, vm, policy_set):
        assign_and_wait(client, [bench.vm_ids[vm]], bench.ids_of(policy_set))

    def work(client):
        if parallelism == 1:
            for vm, policy_set in assignments:
                one(client, vm, policy_set)
            return
        # One client shared by the workers, as the provider shares one: one token, one pacing of 20 requests/s.
        with concurrent.futures.ThreadPoolExecutor(max_workers=parallelism) as pool:
            for future in [pool.submit(one, client, vm, policy_set) for vm, policy_set in assignments]:
                future.result()

    progress("cloudtemple: %s, %d VMs one call each, %d at a time" % (name, len(assignments), parallelism))
    seconds, token, counts = measured(bench, name, work)
    bench.expected.update(assignments)
    bench.check_state(name)
    if counts.assigns != len(assignments) or counts.spp_writes != len(assignments):
        progress("WARNING: %s made %d assign calls and %d SPP writes, expected %d of each"
                 % (name, counts.assigns, counts.spp_writes, len(assignments)))
    extrapolated = token + (seconds - token) * VM_COUNT / len(assignments)
    prefix = "cloudtemple_policy_%s" % name
    report("%s_sample_%d" % (prefix, len(assignments)), seconds, "s")
    report("%s_sample_%d_requests" % (prefix, len(assignments)), counts.requests, "requests")
    report("%s_sample_%d_activity_reads" % (prefix, len(assignments)), counts.activity_reads, "requests")
    report("%s_%d_extrapolated" % (prefix, VM_COUNT), extrapolated, "s")
    return extrapolated


def seam_class():
    try:
        module = importlib.import_module(SEAM_MODULE)
    except ImportError:
        return None
    return getattr(module, SEAM_CLASS, None)


def bench_seam(bench):
    """The bulk side again, through ``CloudTempleBackupService.assign`` (the seam the modules use): every VM moves one
    place along ``POLICY_SETS``, one ``assign`` per set. Optional: skipped, with a note, when the seam is not there or
    fails; the timed work includes the seam's own policy read (``sla_policies``, to know the policies by name)."""
    service_class = seam_class()
    if service_class is None:
        progress("cloudtemple: %s.%s is not there; no bulk line through the seam" % (SEAM_MODULE, SEAM_CLASS))
        return
    assignments = [(name, rotated(bench.expected[name], 1)) for name in bench.names]
    by_set = groups(assignments)

    def work(client):
        service = service_class(client)
        service.sla_policies()
        for policy_set, names in by_set.items():
            service.assign([(bench.vm_ids[name], None) for name in names], list(policy_set))

    progress("cloudtemple: bulk through the seam, %d VMs in %d calls" % (len(assignments), len(by_set)))
    try:
        seconds, _token, counts = measured(bench, "bulk through the seam", work)
    except Exception as error:  # pylint: disable=broad-except  # the seam is optional here: say why, go on
        progress("WARNING: the bulk side through the seam failed, no line for it: %s: %s"
                 % (type(error).__name__, error))
        return
    bench.expected.update(assignments)
    bench.check_state("the bulk assignment through the seam")
    if counts.assigns != len(by_set):
        progress("WARNING: the seam made %d assign calls, expected %d" % (counts.assigns, len(by_set)))
    report("cloudtemple_policy_bulk_%d_via_seam" % VM_COUNT, seconds, "s")
    report("cloudtemple_policy_bulk_%d_via_seam_requests" % VM_COUNT, counts.requests, "requests")


def run():
    with running_lab("cloudtemple", **MODEL) as running:
        bench = Bench(running.env)
        if bench.vm_sets():
            progress("WARNING: SPP already has VM policies before the first assignment")
        bulk = bench_bulk(bench)
        loop = bench_loop(bench, "loop", offset=0, steps=1)
        parallel = bench_loop(bench, "loop_parallel_%d" % PARALLELISM, offset=PARALLEL_OFFSET, steps=2,
                              parallelism=PARALLELISM)
        report("cloudtemple_policy_end_distinct_sets", bench.check_state("both sides"))
        bench_seam(bench)
    report("cloudtemple_policy_loop_vs_bulk_ratio", ratio(loop, bulk))
    report("cloudtemple_policy_loop_parallel_%d_vs_bulk_ratio" % PARALLELISM, ratio(parallel, bulk))
