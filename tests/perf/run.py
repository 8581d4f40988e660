# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmarks of sovereign.vm_backup against the local lab (``make bench``).

Each section starts its own lab in a temporary directory and always stops it, measures the collection and a peer in
the same run, and prints one ``BENCH <name> <value> <unit>`` line per figure on stdout; progress goes to stderr.
Nothing asserts on time. See tests/perf/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import signal
import sys

import bench_cloudtemple
import bench_inventory
import bench_listing
import bench_policy
import bench_scale
from benchlib import BenchError, Stopwatch, check_prerequisites, progress

SECTIONS = {
    "listing": bench_listing.run,  # issue 2: 10,000 VMs through both clients, against per-VM attribute reads
    "policy": bench_policy.run,  # issue 3: 1,000 assignments in one task, against a loop of single-VM tasks
    "inventory": bench_inventory.run,  # the coverage report of 2,750 and 10,000 VMs, against vmware_vm_info
    "scale": bench_scale.run,  # issue 14: inventory and a no-op convergence over 1,000, 10,000 and 50,000 VMs
    "cloudtemple": bench_cloudtemple.run,  # issue 15: 1,000 assignments through the console API, bulk against per VM
}


def _interrupt(signum, frame):
    """SIGTERM (a CI timeout, ``kill``) unwinds like Ctrl-C, so that every lab is stopped on the way out."""
    raise KeyboardInterrupt("signal %d" % signum)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=sorted(SECTIONS), metavar="NAME",
                        help="run only this section (repeatable): %s; default all" % ", ".join(SECTIONS))
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        check_prerequisites()
    except BenchError as error:
        progress(str(error))
        return 2
    failed = []
    for name in args.only or list(SECTIONS):
        progress("== %s" % name)
        with Stopwatch() as watch:
            try:
                SECTIONS[name]()
            except BenchError as error:
                progress("%s FAILED: %s" % (name, error))
                failed.append(name)
            except KeyboardInterrupt:
                progress("%s interrupted; its lab is stopped" % name)
                return 130
        progress("== %s finished in %.0f s" % (name, watch.seconds))
    if failed:
        progress("failed sections: %s" % ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
