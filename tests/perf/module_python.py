# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Python interpreter the ``scale`` benchmark gives to Ansible's modules: it measures each module process.

``benchlib.measuring_interpreter`` writes a two-line shell script that runs this file with the real interpreter and
names it as ``ansible_python_interpreter``. Ansible then runs ``<script> .../AnsiballZ_<module>.py``, and this file
runs the real interpreter on it as a child and waits for it with ``os.wait4``, which gives the resources of that one
process: its wall time, CPU time and peak resident memory (``ru_maxrss``, the kernel's high-water mark). One JSON line
per module process is appended to the file named by ``BENCH_MODULE_STATS``. The module's stdin, stdout, stderr and
exit status pass through untouched.

With ``BENCH_PROFILE`` set to a path and ``BENCH_PROFILE_MODULE`` to a module name, the process of that module runs
under cProfile instead (this file again, as ``--profile``): every thread gets its own profiler, so that the vCenter
listing, which runs in a thread of its own, is profiled too. The stats are dumped with ``marshal`` (``pstats``
format) as ``<path>`` for the main thread and ``<path>.thread<N>`` for the others.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

STATS_VARIABLE = "BENCH_MODULE_STATS"
PROFILE_VARIABLE = "BENCH_PROFILE"
PROFILE_MODULE_VARIABLE = "BENCH_PROFILE_MODULE"


def module_name(argv):
    """``backup_inventory`` from ``.../AnsiballZ_backup_inventory.py``; None for anything else."""
    for argument in argv:
        base = os.path.basename(argument)
        if base.startswith("AnsiballZ_") and base.endswith(".py"):
            return base[len("AnsiballZ_"):-len(".py")]
    return None


def profiled(output, script):
    """Run ``script`` as ``__main__`` under cProfile, one profiler per thread; dump each when the module exits."""
    import cProfile  # pylint: disable=import-outside-toplevel
    import runpy  # pylint: disable=import-outside-toplevel

    profilers = []
    lock = threading.Lock()

    def start_thread_profiler(*_args):
        # threading.setprofile's hook runs in each new thread: replace it with a cProfile of that thread
        sys.setprofile(None)
        profiler = cProfile.Profile()
        with lock:
            profilers.append(profiler)
        profiler.enable()

    threading.setprofile(start_thread_profiler)
    main = cProfile.Profile()
    sys.argv = [script] + sys.argv[4:]
    code = 0
    main.enable()
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as stop:
        code = stop.code
    finally:
        main.disable()
        threading.setprofile(None)
        main.dump_stats(output)
        with lock:
            for number, profiler in enumerate(profilers, 1):
                profiler.dump_stats("%s.thread%d" % (output, number))
    return code


def measured(argv):
    """Run ``argv`` (the real interpreter and its arguments) as a child; record its resources; return its status."""
    name = module_name(argv)
    profile = os.environ.get(PROFILE_VARIABLE)
    if profile and name and name == os.environ.get(PROFILE_MODULE_VARIABLE):
        argv = [argv[0], os.path.abspath(__file__), "--profile", profile] + argv[1:]
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)  # pylint: disable=protected-access
    _pid, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    path = os.environ.get(STATS_VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"module": name, "seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                                     "max_rss_kb": usage.ru_maxrss, "profiled": argv[2:3] == ["--profile"]}) + "\n")
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--profile"]:
        sys.exit(profiled(sys.argv[2], sys.argv[3]))
    sys.exit(measured(sys.argv[1:]))
