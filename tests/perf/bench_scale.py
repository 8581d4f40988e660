# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``scale``: ``backup_inventory`` and a no-op ``vm_backup_policy`` over 1,000, 10,000 and 50,000 VMs (issue 14).

One lab per size (vcsim with standalone hosts of 500 VMs each, and the SPP emulator's inventory of that vCenter), given
the ``inventory`` section's backup server state (``bench_inventory.populate``). Both tasks run in a real
``ansible-playbook`` with the project's venv and collections, timed by the ``task_times`` callback. The module's Python
is ``module_python.py`` behind a generated script, which records each module process's wall time, CPU time and peak
resident memory (``wait4``'s ``ru_maxrss``); the ``ansible-playbook`` run is measured the same way, so its peak is the
largest process of the run, the controller's result handling included.

Growth is printed for each step between sizes, as the raw time ratio and as the growth per 5x of VMs:
``5 ** (log(time ratio) / log(VM ratio))``, which is 5.0 for linear growth, more when the cost per VM grows.

At 10,000 VMs the inventory runs once more under cProfile (``module_python.py --profile``, one profiler per thread),
and the summary is written to ``tests/output/bench/inventory_10000_profile.txt``.
"""

from __future__ import annotations

import io
import json
import math
import os
import pstats
import re
import stat
import sys
import tempfile

import bench_inventory
import lab as lab_module  # benchlib puts tests/lab on sys.path
from benchlib import (
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
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing

SIZES = (1000, 10_000, 50_000)
SIZES_VARIABLE = "BENCH_SCALE_SIZES"  # e.g. "1000,10000": a shorter run
VMS_PER_HOST = 500
PROFILED_SIZE = 10_000
PROFILE_TOP = 25
OUTPUT_DIR = os.path.join(ROOT, "tests", "output", "bench")
INVENTORY = "sovereign.vm_backup.backup_inventory"
POLICY = "sovereign.vm_backup.vm_backup_policy"
WRITE = "POST /ngp/hypervisor"  # applySLAPolicies / applyOptions
MEMORY_LIMIT_MB = 2048  # issue 14: the module's peak at 50,000 VMs
POLICY_OF_GROUP = {bench_inventory.GOLD: ["Gold"], bench_inventory.SILVER: ["Silver"]}
# vcsim builds 50,000 VMs in 3 to 4.5 minutes on a loaded 2-core machine, close to the lab's usual 300 s limit.
LAB_STARTUP_TIMEOUT = 900


def sizes():
    chosen = os.environ.get(SIZES_VARIABLE)
    return tuple(int(size) for size in chosen.split(",")) if chosen else SIZES


def model(vm_count):
    if vm_count % VMS_PER_HOST:
        raise BenchError("%d VMs is not a multiple of %d VMs per host" % (vm_count, VMS_PER_HOST))
    return {"hosts": vm_count // VMS_PER_HOST, "vms": VMS_PER_HOST, "clusters": 0}


def _script(directory, name, argv):
    """An executable ``sh`` script that runs ``argv`` followed by its own arguments."""
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\nexec %s \"$@\"\n" % " ".join("'%s'" % part for part in argv))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


class MeasuredTool:
    """Our ansible-playbook, with every module process and the playbook run itself measured by ``module_python``."""

    def __init__(self, lab_env, directory):
        self.directory = directory
        self.stats = os.path.join(directory, "module-stats.jsonl")
        measuring = [sys.executable, "-I", "-S", os.path.join(HERE, "module_python.py"), sys.executable]
        self.interpreter = _script(directory, "python", measuring)
        self.tool = bench_inventory.ours(lab_env)
        self.tool.executable = _script(directory, "ansible-playbook", measuring + [ansible_playbook()])
        self.tool.env["BENCH_MODULE_STATS"] = self.stats

    def run(self, name, module, args=None, variables=None, profile=None):
        """``(task seconds, result, {module or "ansible-playbook": its process's stats})``."""
        if os.path.exists(self.stats):
            os.remove(self.stats)
        env = self.tool.env
        env.pop("BENCH_PROFILE", None)
        if profile:
            env.update(BENCH_PROFILE=profile, BENCH_PROFILE_MODULE=module.rpartition(".")[2])
        play_vars = dict(variables or {}, ansible_python_interpreter=self.interpreter)
        seconds, result = self.tool.run_task(self.directory, name, module, args=args, variables=play_vars)
        processes = {}
        with open(self.stats, encoding="utf-8") as handle:
            for line in handle:
                entry = json.loads(line)
                processes[entry["module"] or "ansible-playbook"] = entry
        return seconds, result, processes


def _process_memory(lab, name):
    """``(VmRSS, VmHWM)`` in MB of a lab server, read from /proc by its PID file; (None, None) when unreadable."""
    try:
        with open(os.path.join(lab.directory, name + ".pid"), encoding="utf-8") as handle:
            pid = int(handle.read().strip())
        with open("/proc/%d/status" % pid, encoding="utf-8") as handle:
            fields = dict(line.split(":", 1) for line in handle if ":" in line)
        return tuple(int(fields[key].split()[0]) // 1024 for key in ("VmRSS", "VmHWM"))
    except (OSError, ValueError, KeyError):
        return None, None


def _server_cpu(lab):
    """CPU seconds used so far by each lab server (``{"vcsim": s, "spp": s}``), from /proc; None when unreadable."""
    seconds = {}
    for name in ("vcsim", "spp"):
        try:
            with open(os.path.join(lab.directory, name + ".pid"), encoding="utf-8") as handle:
                pid = int(handle.read().strip())
            with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            seconds[name] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            seconds[name] = None
    return seconds


def _servers_line(before, after):
    used = ["%s %.2f s" % (name, after[name] - before[name]) for name in ("vcsim", "spp")
            if before.get(name) is not None and after.get(name) is not None]
    return "lab servers' CPU during the run: %s" % (", ".join(used) or "unknown")


def no_op_assignments(lab_env):
    """The assignments that the populated state already satisfies: every Gold and Silver VM with its policy."""
    with spp_client(lab_env) as client:
        vms = sorted(spp_listing.list_vms(client), key=lambda vm: vm["name"])
    items = []
    for index, vm in enumerate(vms):
        policies = POLICY_OF_GROUP.get(bench_inventory.group_of(index))
        if policies:
            items.append({"vm": vm["name"], "policies": policies})
    return items


def _module_line(label, vm_count, processes, module):
    """The module process's figures, and the CPU time of ansible-playbook's own processes (the controller: the
    playbook's CPU time, its children's included, less that of every module process)."""
    process = processes[module]
    controller = processes["ansible-playbook"]["cpu_seconds"] - sum(
        entry["cpu_seconds"] for name, entry in processes.items() if name != "ansible-playbook")
    return "%s_%d: module %.2f s wall, %.2f s CPU, peak %d MB; controller %.2f s CPU, ansible-playbook peak %d MB" % (
        label, vm_count, process["seconds"], process["cpu_seconds"], process["max_rss_kb"] // 1024, controller,
        processes["ansible-playbook"]["max_rss_kb"] // 1024)


def measure_inventory(tool, lab, vm_count, expected):
    emulator = Emulator(lab.env)
    emulator.clear_request_counts()
    servers = _server_cpu(lab)
    seconds, result, processes = tool.run("scale_inventory_%d" % vm_count, INVENTORY)
    servers_line = _servers_line(servers, _server_cpu(lab))
    bench_inventory.check_ours(result, vm_count, expected)
    requests_made = sum(emulator.request_counts().values())
    progress(_module_line("inventory", vm_count, processes, "backup_inventory") + "; %d SPP requests; %s"
             % (requests_made, servers_line))
    return {"seconds": seconds, "module": processes["backup_inventory"], "playbook": processes["ansible-playbook"]}


def measure_policy_noop(tool, lab, vm_count):
    items = no_op_assignments(lab.env)
    emulator = Emulator(lab.env)
    emulator.clear_request_counts()
    servers = _server_cpu(lab)
    seconds, result, processes = tool.run("scale_policy_noop_%d" % vm_count, POLICY, args={"assignments": "{{ wanted }}"},
                                          variables={"wanted": items})
    servers_line = _servers_line(servers, _server_cpu(lab))
    counts = emulator.request_counts()
    if result.get("changed") or counts.get(WRITE):
        progress("WARNING: the no-op over %d VMs changed %s with %d writes" % (vm_count, result.get("changed"),
                                                                               counts.get(WRITE, 0)))
    progress(_module_line("policy_noop", vm_count, processes, "vm_backup_policy") + "; %d assignments, %d SPP "
             "requests; %s" % (len(items), sum(counts.values()), servers_line))
    return {"seconds": seconds, "module": processes["vm_backup_policy"], "playbook": processes["ansible-playbook"]}


# Long path prefixes cut out of the profile's file names: the module's payload zip, site-packages, the stdlib.
_PATH_PREFIX = re.compile(r"/\S*(?:_payload\.zip/ansible_collections/sovereign/vm_backup|_payload\.zip|site-packages"
                          r"|/lib/python3\.\d+|/ansible-tmp-[^/\s]+)/")


def _stats_summary(paths, title, top, order="cumulative"):
    """The ``top`` functions by ``order`` of the cProfile dumps ``paths`` (merged), as text with short file names."""
    out = io.StringIO()
    stats = pstats.Stats(*paths, stream=out)
    out.write("== %s\n" % title)
    stats.sort_stats(order).print_stats(top)
    return _PATH_PREFIX.sub("", out.getvalue())


def profile_inventory(tool, vm_count):
    """Run the inventory again under cProfile and write the summary; return its path."""
    os.makedirs(OUTPUT_DIR, exist_ok=True)
    dump = os.path.join(tool.directory, "inventory.prof")
    seconds, _result, processes = tool.run("scale_inventory_%d_profiled" % vm_count, INVENTORY, profile=dump)
    module = processes["backup_inventory"]
    threads = []
    while os.path.exists("%s.thread%d" % (dump, len(threads) + 1)):
        threads.append("%s.thread%d" % (dump, len(threads) + 1))
    parts = ["backup_inventory over %d VMs under cProfile: task %.2f s, module process %.2f s wall, %.2f s CPU, "
             "peak %d MB. The profiler slows Python code down: read the shares, not the absolute times. Threads, in "
             "order of creation: the main one, the vCenter listing, then its VM page readers. Time waiting for a "
             "server or for another thread counts too (ssl read, lock acquire).\n\n"
             % (vm_count, seconds, module["seconds"], module["cpu_seconds"], module["max_rss_kb"] // 1024),
             _stats_summary([dump] + threads, "every thread, top %d by own time" % PROFILE_TOP, PROFILE_TOP, "tottime"),
             _stats_summary([dump], "main thread, top %d by cumulative time" % (PROFILE_TOP + 15), PROFILE_TOP + 15)]
    for number, path in enumerate(threads, 1):
        parts.append(_stats_summary([path], "thread %d, top %d by cumulative time" % (number, PROFILE_TOP),
                                    PROFILE_TOP))
    path = os.path.join(OUTPUT_DIR, "inventory_%d_profile.txt" % vm_count)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(parts))
    progress("profile of the %d-VM inventory written to %s" % (vm_count, os.path.relpath(path, ROOT)))
    return path


def measure_size(vm_count, directory):
    with running_lab("scale-%d" % vm_count, **model(vm_count)) as lab:
        vcsim_rss = _process_memory(lab, "vcsim")[0]
        emulator_rss = _process_memory(lab, "spp")[0]
        progress("scale_%d: lab memory after start: vcsim %s MB, SPP emulator %s MB" % (vm_count, vcsim_rss,
                                                                                        emulator_rss))
        with Stopwatch() as watch:
            expected = bench_inventory.populate(lab.env, vm_count)
        progress("scale_%d: backup server state set up in %.1f s" % (vm_count, watch.seconds))
        tool = MeasuredTool(lab.env, directory)
        measured = {"inventory": measure_inventory(tool, lab, vm_count, expected),
                    "policy_noop": measure_policy_noop(tool, lab, vm_count)}
        if vm_count == PROFILED_SIZE:
            profile_inventory(tool, vm_count)
        vcsim_peak = _process_memory(lab, "vcsim")[1]
        emulator_peak = _process_memory(lab, "spp")[1]
    for kind, values in measured.items():
        report("scale_%s_%d" % (kind, vm_count), values["seconds"], "s")
        report("scale_%s_%d_module_cpu" % (kind, vm_count), values["module"]["cpu_seconds"], "s")
        report("scale_%s_%d_module_peak_rss" % (kind, vm_count), values["module"]["max_rss_kb"] // 1024, "MB")
        report("scale_%s_%d_playbook_peak_rss" % (kind, vm_count), values["playbook"]["max_rss_kb"] // 1024, "MB")
    progress("scale_%d: lab peak memory: vcsim %s MB, SPP emulator %s MB" % (vm_count, vcsim_peak, emulator_peak))
    if vm_count >= max(SIZES):
        for kind, values in measured.items():
            if values["module"]["max_rss_kb"] // 1024 > MEMORY_LIMIT_MB:
                progress("WARNING: %s over %d VMs peaked at %d MB, above %d MB"
                         % (kind, vm_count, values["module"]["max_rss_kb"] // 1024, MEMORY_LIMIT_MB))
    return measured


def per_5x(value_ratio, vm_ratio):
    """The growth of a figure per 5x of VMs, from its ratio over a step of ``vm_ratio``: 5.0 when it grows linearly."""
    return 5 ** (math.log(value_ratio) / math.log(vm_ratio))


def growth(results):
    """Per step between sizes: the raw time ratio (linear would be the VM ratio), the growth per 5x of VMs of the task
    time and of the module's CPU time, and the ratio of the module's peak memory."""
    counts = sorted(results)
    for smaller, larger in zip(counts, counts[1:]):
        vm_ratio = larger / smaller
        step = "%d_vs_%d" % (larger, smaller)
        for kind in ("inventory", "policy_noop"):
            small, large = results[smaller][kind], results[larger][kind]
            time_ratio = ratio(large["seconds"], small["seconds"])
            cpu_ratio = ratio(large["module"]["cpu_seconds"], small["module"]["cpu_seconds"])
            report("scale_%s_time_ratio_%s" % (kind, step), time_ratio)
            report("scale_%s_time_ratio_%s_if_linear" % (kind, step), vm_ratio)
            report("scale_%s_growth_per_5x_%s" % (kind, step), per_5x(time_ratio, vm_ratio))
            report("scale_%s_module_cpu_growth_per_5x_%s" % (kind, step), per_5x(cpu_ratio, vm_ratio))
            report("scale_%s_memory_ratio_%s" % (kind, step),
                   ratio(large["module"]["max_rss_kb"], small["module"]["max_rss_kb"]))


def run():
    lab_module.STARTUP_TIMEOUT = max(lab_module.STARTUP_TIMEOUT, LAB_STARTUP_TIMEOUT)
    results = {}
    failed = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as directory:
        for vm_count in sizes():
            try:
                results[vm_count] = measure_size(vm_count, directory)
            except BenchError as error:
                progress("scale_%d FAILED: %s" % (vm_count, error))
                failed.append(vm_count)
    growth(results)
    if failed:
        raise BenchError("no figures for %s VMs" % ", ".join(str(count) for count in failed))
