# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab as a Cloud Temple customer sees it (``backup_service: cloudtemple``), for the test_cloudtemple_* modules.

``Console`` runs the collection with the ``CLOUDTEMPLE_*`` connection only: every ``SPP_*`` variable is removed from
the command's environment, and the ``VMWARE_*`` ones too unless a test asks for vCenter (``vcenter=True``), so that the
console's compute API is the VM inventory. End states are read through independent eyes, never through the
collection: the Cloud Temple console emulator's own admin API (``/__emulator__``: activities, request counts, fault
and activity rules, the visibility lag; tests/emulators/cloudtemple/README.md), the SPP emulator's record (the lab's
``spp`` reader, helpers.SppReader) and plain pyVmomi (vcenter.py).
"""

from __future__ import annotations

import contextlib
import re
import time

import pytest
import requests

import vcenter
from helpers import assign_policies, create_sla_policy, hold_job, start_job

SERVICE = "cloudtemple"
SPP_VARIABLES = ("SPP_URL", "SPP_USERNAME", "SPP_PASSWORD", "SPP_VALIDATE_CERTS", "SPP_CA_PATH")
VCENTER_VARIABLES = ("VMWARE_HOST", "VMWARE_PORT", "VMWARE_USER", "VMWARE_PASSWORD", "VMWARE_VALIDATE_CERTS",
                     "VMWARE_CA_PATH")
# The console's routes, as the emulator counts them ("METHOD /path", docs/cloudtemple-api.md sections 3, 7, 10, 12).
TOKEN = "POST /api/iam/v2/auth/personal_access_token"
POLICIES = "GET /api/backup/v1/spp/policies"
ASSIGN_VMS = "POST /api/backup/v1/spp/policies/assign/virtual_machine"
ASSIGN_DISK = "POST /api/backup/v1/spp/policies/assign/virtual_disk"
RUN_JOB = "POST /api/backup/v1/spp/jobs/run"
POWER = "PATCH /api/compute/v1/vcenters/virtual_machines/power"
INVENTORY_JOB = "Hypervisor Inventory"
SUPPORT_MESSAGE = "policies are created by Cloud Temple support"
NO_RESTORE_MESSAGE = "public console API offers no restore"
JWT_PREFIX = "eyJ"  # every JWT starts with the base64 of '{"'


class Console:
    """The Cloud Temple side of a lab ``Environment`` (conftest.py): the runner with the console's connection only,
    and the console emulator's admin API."""

    def __init__(self, lab):
        self.lab = lab
        self.env = lab.env
        self.admin_url = lab.env["CLOUDTEMPLE_EMULATOR_ADMIN"]
        self.secret = lab.env["CLOUDTEMPLE_SECRET_ID"]

    # -- the console emulator's admin API -------------------------------------------------------------------------

    def admin(self, method, path, body=None):
        answer = requests.request(method, self.admin_url + path, json=body, verify=self.env["CLOUDTEMPLE_CA_PATH"],
                                  timeout=120)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def reset(self):
        """Activities (held ones too: they stop), faults, activity rules and counters dropped; the visibility lag
        back to none."""
        self.admin("POST", "/reset")

    def state(self):
        return self.admin("GET", "/state")

    def counts(self):
        """Requests received per ``METHOD /path`` since the last ``clear_counts``."""
        return self.admin("GET", "/requests")["counts"]

    def clear_counts(self):
        self.admin("DELETE", "/requests")

    def count(self, route):
        return self.counts().get(route, 0)

    def writes(self, counts=None):
        """The write requests (POST, PATCH, PUT, DELETE) but the token exchange: ``{route: count}``."""
        counts = self.counts() if counts is None else counts
        return {route: number for route, number in counts.items()
                if route.split(" ", 1)[0] in ("POST", "PATCH", "PUT", "DELETE") and route != TOKEN}

    def fault(self, **rule):
        """An HTTP fault on the console's routes (the SPP emulator's fault body: method, path_prefix, status,
        latency_ms, count, after_effect ...)."""
        return self.admin("POST", "/faults", rule)

    def activities(self, tag=None):
        """The console's activities, oldest first; those whose ``tags`` hold ``tag`` when it is given."""
        return [a for a in self.state()["activities"] if tag is None or tag in (a.get("tags") or [])]

    def visibility_lag(self, seconds):
        self.admin("POST", "/visibility-lag", {"seconds": seconds})

    # -- the collection, as a Cloud Temple customer runs it -------------------------------------------------------

    def command_env(self, vcenter=False, service_variable=False, extra=None):
        """The variables of a run: the lab's ``CLOUDTEMPLE_*``, no ``SPP_*``, no ``VMWARE_*`` unless ``vcenter``;
        ``service_variable`` also sets VM_BACKUP_SERVICE=cloudtemple (for roles and the inventory plugin)."""
        env = dict.fromkeys(SPP_VARIABLES)
        if not vcenter:
            env.update(dict.fromkeys(VCENTER_VARIABLES))
        env["VM_BACKUP_SERVICE"] = SERVICE if service_variable else None
        env.update(extra or {})
        return env

    def module(self, target, module_args, check=False, expect_rc=0, vcenter=False, verbosity=0, env=None):
        """Run a module target once with ``backup_service: cloudtemple``; return its saved result (``_output``: the
        whole output, ``_seconds``: the wall time of ansible-playbook)."""
        started = time.monotonic()
        result = self.lab.module(target, dict(module_args, backup_service=SERVICE), check=check, expect_rc=expect_rc,
                                 verbosity=verbosity, env=self.command_env(vcenter, extra=env))
        result["_seconds"] = time.monotonic() - started
        return result

    def four_runs(self, target, module_args, after_each=None, vcenter=False):
        """Check, real, check, real; ``after_each(index, result)`` is called after each run, for end-state checks."""
        results = []
        for index, check in enumerate((True, False, True, False)):
            result = self.module(target, module_args, check=check, vcenter=vcenter)
            if after_each:
                after_each(index, result)
            results.append(result)
        return results

    def playbook(self, name, extra_vars=None, check=False, expect_rc=0, vcenter=False, verbosity=0, env=None):
        """Run a playbook (``targets/<name>.yml`` or an absolute path) with VM_BACKUP_SERVICE=cloudtemple in the
        environment (roles and plays pass no option); (rc, output, results, seconds)."""
        started = time.monotonic()
        rc, output, results = self.lab.playbook(name, extra_vars, check=check, expect_rc=expect_rc,
                                                verbosity=verbosity,
                                                env=self.command_env(vcenter, service_variable=True, extra=env))
        return rc, output, results, time.monotonic() - started

    # -- independent eyes -----------------------------------------------------------------------------------------

    def vm_ids(self, names):
        """VM name -> the console's VM id (vCenter's instance UUID, read through pyVmomi)."""
        with self.lab.vcenter() as client:
            return {name: vcenter.find_vm(client, name).config.instanceUuid for name in names}

    def assigned_sets(self):
        """One ``frozenset`` of VM ids per VM assignment the console received, in order (from its activities)."""
        return [frozenset(item["id"] for item in activity.get("concernedItems") or []
                          if item.get("type") != "SLAPolicy")
                for activity in self.activities("virtual_machine") if "assign" in activity.get("tags", [])]

    def assert_no_secret(self, output):
        """Neither the lab's client secret nor any JWT in ``output``."""
        assert self.secret not in output, "the client secret is in the output"
        assert JWT_PREFIX not in output, "a JWT is in the output: %s" % re.findall(r"eyJ[\w.-]{0,40}", output)[:3]


def held_policy(lab, name, vm_name, site="Secondary"):
    """An SLA policy ``name`` on ``site``, assigned to ``vm_name`` (SPP creates its job with the first assignment) and
    held, all through SPP's own REST API: the console has no hold route (docs/cloudtemple-api.md section 14), Cloud
    Temple support holds a policy there."""
    create_sla_policy(lab, name, site)
    assign_policies(lab, vms={vm_name: [name]})
    hold_job(lab, "vmware_%s" % name)


def run_inventory_job(lab):
    """The Hypervisor Inventory job, run through SPP's API and waited for: SPP then knows every VM vCenter has."""
    lab.spp.wait_until_settled(start_job(lab, INVENTORY_JOB), timeout=120)


@contextlib.contextmanager
def elapsed():
    """``with elapsed() as clock: ...``, then ``clock()`` gives the seconds spent inside (or so far)."""
    started = time.monotonic()
    ended = []
    yield lambda: (ended[0] if ended else time.monotonic()) - started
    ended.append(time.monotonic())


def skip_unless_console(lab):
    if not lab.emulated or not lab.env.get("CLOUDTEMPLE_EMULATOR_ADMIN"):
        pytest.skip("needs the Cloud Temple console emulator of the lab")
