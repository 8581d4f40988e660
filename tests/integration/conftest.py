# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integration fixtures: the lab (or a real vCenter and SPP), and a runner for ansible-playbook.

When SPP_URL and VMWARE_HOST are set in the environment, the tests run against those servers instead of starting
the lab; tests that need the emulator's admin API (fault injection, state dumps) are then skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pytest

import vcenter
from helpers import SppReader
from lab import Lab, clear_vcenter_faults

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = os.path.join(ROOT, "tests", "integration", "targets")
# The harness's own action plugins (save_result: the targets' record of what a task registered).
HARNESS_ACTIONS = os.path.join(ROOT, "tests", "integration", "plugins", "action")
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
CONNECTION_VARS = ("VMWARE_HOST", "VMWARE_PORT", "VMWARE_USER", "VMWARE_PASSWORD", "VMWARE_VALIDATE_CERTS",
                   "VMWARE_CA_PATH", "SPP_URL", "SPP_USERNAME", "SPP_PASSWORD", "SPP_VALIDATE_CERTS", "SPP_CA_PATH")


class Environment:
    """Connection variables, the runner of ansible-playbook, and direct access to both servers: the emulator's admin
    API and plain pyVmomi for end-state checks (helpers.SppReader reads the backup server)."""

    def __init__(self, env, emulated):
        self.env = env
        self.emulated = emulated

    @property
    def admin_url(self):
        return self.env.get("SPP_EMULATOR_ADMIN")

    def admin(self, method, path, body=None):
        import requests  # pylint: disable=import-outside-toplevel

        if not self.emulated:
            pytest.skip("needs the SPP emulator's admin API")
        response = requests.request(method, self.admin_url + path, json=body, verify=self.env["SPP_CA_PATH"],
                                    timeout=120)  # verify per request: REQUESTS_CA_BUNDLE beats Session.verify
        response.raise_for_status()
        return response.json() if response.content else None

    @property
    def spp(self):
        """What the backup server holds (``helpers.SppReader``: the emulator's own record, or plain REST)."""
        return SppReader(self)

    def vcenter(self):
        """A plain pyVmomi session with vCenter (``vcenter.Vcenter``, a context manager): the tests' own eyes."""
        return vcenter.connect(self.env)

    # The collection's own clients, for the tests whose subject they are (test_client_faults, test_vcenter_listing).
    # End states are never read through them: helpers.SppReader and vcenter.py do that.

    def spp_client(self):
        from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp._client import SppClient  # noqa

        return SppClient(self.env["SPP_URL"], self.env["SPP_USERNAME"], self.env["SPP_PASSWORD"],
                         validate_certs=True, ca_path=self.env.get("SPP_CA_PATH"))

    def vsphere_client(self):
        from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere._client import VsphereClient  # noqa

        client = VsphereClient(self.env["VMWARE_HOST"], self.env["VMWARE_USER"], self.env["VMWARE_PASSWORD"],
                               port=int(self.env.get("VMWARE_PORT", 443)), validate_certs=True,
                               ca_path=self.env.get("VMWARE_CA_PATH"))
        client.connect()
        return client

    def command_env(self, env=None):
        """The environment of an ansible command run against these servers; ``env`` adds variables, or removes them
        with None."""
        run_env = dict(os.environ)
        run_env.update(self.env)
        for key, value in (env or {}).items():
            if value is None:
                run_env.pop(key, None)
            else:
                run_env[key] = value
        run_env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
                       ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOCALHOST_WARNING="false",
                       ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                       ANSIBLE_ACTION_PLUGINS=HARNESS_ACTIONS)
        return run_env

    def playbook(self, name, extra_vars=None, check=False, diff=False, verbosity=0, env=None, expect_rc=0):
        """Run ``targets/<name>.yml`` (or the playbook at ``name``, an absolute path); return (rc, output, results)
        where results is what the play saved."""
        path = name if os.path.isabs(name) else os.path.join(TARGETS, name + ".yml")
        with tempfile.TemporaryDirectory() as tmp:
            results_file = os.path.join(tmp, "results.json")
            variables = dict(extra_vars or {}, results_file=results_file)
            argv = [ANSIBLE_PLAYBOOK, path, "-e", json.dumps(variables)]
            if check:
                argv.append("--check")
            if diff:
                argv.append("--diff")
            if verbosity:
                argv.append("-" + "v" * verbosity)
            completed = subprocess.run(argv, env=self.command_env(env), capture_output=True, text=True, timeout=900,
                                       check=False)
            output = completed.stdout + completed.stderr
            results = None
            if os.path.exists(results_file):
                with open(results_file, encoding="utf-8") as handle:
                    results = json.load(handle)
        if expect_rc is not None:
            assert completed.returncode == expect_rc, output[-6000:]
        return completed.returncode, output, results

    def module(self, target, module_args, check=False, expect_rc=0, **kwargs):
        """Run a module target once; return its saved result."""
        _rc, output, result = self.playbook(target, {"module_args": module_args}, check=check, diff=True,
                                            expect_rc=expect_rc, **kwargs)
        assert result is not None, output[-3000:]
        result["_output"] = output
        return result

    def four_runs(self, target, module_args, after_each=None):
        """Check, real, check, real: the results in order; ``after_each(index, result)`` can assert end states."""
        results = []
        for index, check in enumerate((True, False, True, False)):
            result = self.module(target, module_args, check=check)
            if after_each:
                after_each(index, result)
            results.append(result)
        return results


def _external_env():
    if os.environ.get("SPP_URL") and os.environ.get("VMWARE_HOST") and not os.environ.get("SPP_EMULATOR_ADMIN"):
        return {k: os.environ[k] for k in CONNECTION_VARS if k in os.environ}
    return None


@pytest.fixture(scope="session")
def lab_env(tmp_path_factory):
    external = _external_env()
    if external:
        yield Environment(external, emulated=False)
        return
    lab = Lab(str(tmp_path_factory.mktemp("lab")), vms=3, cluster_hosts=2, hosts=1, speed=0.05)
    lab.start()
    try:
        yield Environment(lab.env, emulated=True)
    finally:
        lab.stop()


@pytest.fixture
def fresh_lab(lab_env):
    """The lab with the backup server's state reset (SLAs back to defaults, no assignments, inventory re-run)."""
    if lab_env.emulated:
        clear_vcenter_faults(lab_env.env)  # first: the reset's inventory run calls vCenter
        lab_env.admin("DELETE", "/faults")
        lab_env.admin("POST", "/reset", {"inventory": True})
    return lab_env


def pytest_configure(config):
    config.addinivalue_line("markers", "covers(name): the module, role or plugin of the collection a test covers "
                                       "(the test_cloudtemple_* modules)")


@pytest.fixture
def console(fresh_lab):
    """``fresh_lab`` seen by a Cloud Temple customer (``cloudtemple_console.Console``: runs with the CLOUDTEMPLE_*
    connection only), with the console emulator reset (no activity, fault, rule, lag or count left)."""
    from cloudtemple_console import Console, skip_unless_console  # pylint: disable=import-outside-toplevel

    skip_unless_console(fresh_lab)
    reached = Console(fresh_lab)
    reached.reset()
    return reached
