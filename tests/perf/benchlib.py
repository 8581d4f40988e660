# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every benchmark section shares: paths, output, timing, a lab that always stops, and the emulator's admin API.

Output rules: one ``BENCH <name> <value> <unit>`` line per figure on stdout, progress on stderr. Figures are measured
against peers in the same run; nothing here asserts on time.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
COLLECTION_LINK = os.path.join(COLLECTIONS, "ansible_collections", "sovereign", "vm_backup")
for extra in (COLLECTIONS, os.path.join(ROOT, "tests", "lab")):
    if extra not in sys.path:
        sys.path.insert(0, extra)

import requests  # noqa: E402  pylint: disable=wrong-import-position

from lab import VCSIM_BINARY, Lab, LabError  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp._client import SppClient  # noqa: E402
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere._client import VsphereClient  # noqa: E402

PROFILE_VARIABLE = "SPP_EMULATOR_PROFILE"  # the emulator profile the lab passes on (tests/lab/lab.py)
LAB_SPEED = 0.05  # speed factor of the emulator's simulated jobs (the benchmarks run none, but keep it fast)
ADMIN_TIMEOUT = 300


class BenchError(RuntimeError):
    """A benchmark could not measure what it set out to (a failed playbook, a missing prerequisite...)."""


def progress(message):
    print("[bench] %s" % message, file=sys.stderr, flush=True)


def report(name, value, unit=""):
    """Print one figure: ``BENCH <name> <value> <unit>`` (the unit is left out for plain numbers such as ratios)."""
    text = str(value) if isinstance(value, int) else "%.3f" % value if value < 100 else "%.1f" % value
    print(("BENCH %s %s %s" % (name, text, unit)).rstrip(), flush=True)


def ratio(numerator, denominator):
    return numerator / denominator if denominator else float("inf")


class Stopwatch:
    """``with Stopwatch() as watch: ...`` then ``watch.seconds`` (monotonic wall-clock time)."""

    def __init__(self):
        self.started = None
        self.seconds = None

    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.started
        return False


def check_prerequisites():
    """The benchmarks need what ``make setup`` builds; say which target is missing rather than fail later."""
    missing = []
    if not os.path.exists(VCSIM_BINARY):
        missing.append("the vSphere simulator %s (make vcsim)" % VCSIM_BINARY)
    if not os.path.isdir(COLLECTION_LINK):
        missing.append("the collection link %s (make collection)" % COLLECTION_LINK)
    if not os.path.exists(ansible_playbook()):
        missing.append("%s (make venv)" % ansible_playbook())
    if missing:
        raise BenchError("missing: " + "; ".join(missing))


def ansible_playbook():
    return os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def _lab(directory, profile, model):
    """A ``Lab``; the emulator's ``profile`` goes through the Lab's own argument when it has one."""
    if profile and "profile" in inspect.signature(Lab).parameters:
        return Lab(directory, speed=LAB_SPEED, profile=profile, **model)
    return Lab(directory, speed=LAB_SPEED, **model)


@contextlib.contextmanager
def _emulator_profile(profile):
    """``SPP_EMULATOR_PROFILE`` set while the lab starts (the lab passes it on to the emulator), then restored; unset
    for the default profile, so that a variable left in the caller's shell cannot change what a figure measures."""
    before = os.environ.get(PROFILE_VARIABLE)
    if profile:
        os.environ[PROFILE_VARIABLE] = profile
    else:
        os.environ.pop(PROFILE_VARIABLE, None)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PROFILE_VARIABLE, None)
        else:
            os.environ[PROFILE_VARIABLE] = before


@contextlib.contextmanager
def running_lab(label, profile=None, **model):
    """A lab with the given vcsim model, in a temporary directory, stopped (both servers, by PID) whatever happens.

    ``profile`` chooses the SPP emulator's profile (``public-record``); None keeps the default one.
    """
    with tempfile.TemporaryDirectory(prefix="bench-%s-" % label) as directory:
        lab = _lab(directory, profile, model)
        shown = dict(model, **({"profile": profile} if profile else {}))
        progress("%s: starting the lab (%s)" % (label, ", ".join("%s=%s" % item for item in sorted(shown.items()))))
        try:
            with Stopwatch() as watch:
                try:
                    with _emulator_profile(profile):
                        lab.start()
                except LabError as error:
                    raise BenchError("the lab did not start: %s" % error) from error
            progress("%s: lab up in %.1f s" % (label, watch.seconds))
            yield lab
        finally:
            lab.stop()
            progress("%s: lab stopped" % label)


def spp_client(env):
    return SppClient(env["SPP_URL"], env["SPP_USERNAME"], env["SPP_PASSWORD"], validate_certs=True,
                     ca_path=env["SPP_CA_PATH"])


def vsphere_client(env):
    return VsphereClient(env["VMWARE_HOST"], env["VMWARE_USER"], env["VMWARE_PASSWORD"], port=int(env["VMWARE_PORT"]),
                         validate_certs=True, ca_path=env["VMWARE_CA_PATH"])


class Emulator:
    """The SPP emulator's admin API (``/__emulator__``): state dump and request counters."""

    def __init__(self, env):
        self.url = env["SPP_EMULATOR_ADMIN"]
        self.ca_path = env["SPP_CA_PATH"]

    def call(self, method, path, body=None):
        # verify per request: REQUESTS_CA_BUNDLE, set on these machines, would override Session.verify
        response = requests.request(method, self.url + path, json=body, verify=self.ca_path, timeout=ADMIN_TIMEOUT)
        response.raise_for_status()
        return response.json() if response.content else None

    def state(self):
        return self.call("GET", "/state")

    def clear_request_counts(self):
        self.call("DELETE", "/requests")

    def request_counts(self):
        """``{"METHOD /path": n}`` of the SPP API requests since the last clear (the admin API is not counted)."""
        return self.call("GET", "/requests")["counts"]
