# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builders of the vm_restore unit tests: backup server VMs, versions, copies and restore sessions, vCenter VMs,
markers and requests, shaped as the clients return them."""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _wait
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.spp_backup import SppBackupService
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.vsphere_inventory import VsphereInventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_source import resolve_source

BASE = "https://spp/api/hypervisor/1001/vm"
UUID = "11111111-2222-3333-4444-555555555555"
T0 = 1767225600000  # 2026-01-01T00:00:00Z
POINT = {"id": "v1", "time": T0, "time_iso": "2026-01-01T00:00:00.000Z"}


def spp_vm(vm_id, name="web01", moref="vm-10", uuid=UUID, protected=T0, policies=("Gold",)):
    return {"id": vm_id, "name": name, "hypervisorKey": "1001", "storageProfiles": list(policies),
            "config": {"instanceUuid": uuid}, "nativeObject": {"mor": {"val": moref}},
            "protectionInfo": {"protectionTime": protected} if protected else {},
            "links": {"self": {"href": "%s/%s?from=recovery" % (BASE, vm_id)}}}


def version(version_id, when, vm_id="a1", copies=()):
    href = "%s/%s/version/%s?from=recovery" % (BASE, vm_id, version_id)
    path = href.split("?")[0]
    return {"id": version_id, "protectionInfo": {"protectionTime": when, "storageProfileName": "Gold"},
            "hypervisorHostname": "esx1",
            "links": {"self": {"href": href}, "volumes": {"href": path + "/volume"},
                      "vnics": {"href": path + "/vnic"}}, "copies": list(copies)}


def copy(copy_id, kind, version_href, site_id="2000"):
    """A copy as the public record shows it: its site by ``siteId``, no ``links.site`` (spp-api.md 14.16)."""
    return {"id": copy_id, "siteId": site_id, "protectionInfo": {"subPolicyType": kind},
            "links": {"self": {"href": version_href.split("?")[0] + "/copy/%s?from=recovery" % copy_id},
                      "version": {"href": version_href}}}


def vc_vm(name, moref, uuid=UUID, marker=None, power="poweredOn"):
    return {"name": name, "moref": moref, "instance_uuid": uuid, "template": False, "power_state": power,
            "marker": marker}


def source_of(vcenter, recovery, ref="web01"):
    source = resolve_source(ref, vcenter, recovery)
    source["spp_id"] = source["ids"][0]
    return source


def marker(state="restored", mode="test", point="v1", spp_id="a1", uuid=UUID, session="s1", moref="vm-20"):
    return {"source": {"name": "web01", "instance_uuid": uuid, "spp_id": spp_id},
            "recovery_point": {"id": point, "time": T0}, "mode": mode, "session_id": session, "state": state,
            "moref": moref, "v": 1}


def request(**overrides):
    base = {"vm": "web01", "recovery_point": None, "copy": None, "mode": "test", "name": None, "state": "present",
            "overwrite": False, "host": None, "cluster": None, "datastore_map": None, "network_map": None,
            "folder": None, "power_on": False, "wait": True, "timeout": 3600}
    base.update(overrides)
    return base


def session(session_id, status, actions=(), start=0):
    """A restore job session as the server lists it: ``postRestoreInfo`` an object that lists no VM (spp-api.md
    14.13), and the test-restore ``actions`` as links (a test-active session is PENDING with them, 14.9)."""
    href = "https://spp/api/endeavour/jobsession/%s" % session_id
    links = {"self": {"href": href}, "log": {"href": "https://spp/api/endeavour/log/job?s=%s" % session_id}}
    links.update({name: {"href": "%s?action=%s" % (href, name)} for name in actions})
    return {"id": session_id, "status": status, "serviceId": "serviceprovider.recovery.hypervisor",
            "jobName": "onDemandRestore_%s" % session_id, "start": start, "links": links,
            "properties": {"statistics": [], "postRestoreInfo": {"message": None, "appServerMountPoints": []}}}


def active_test_session(session_id, start=0, actions=("end_iv", "rrp", "clone")):
    """A session that holds a test restore (spp-api.md 14.9)."""
    return session(session_id, "PENDING", actions, start)


class FakeTask:
    """What restore_sessions reads of a RestoreTask, with a clock that only sleep moves. ``req`` is the request, else
    ``request(**overrides)``. Its seams wrap stand-ins of the clients: tests replace the client functions."""

    def __init__(self, req=None, **overrides):
        self.now = 0.0
        self.backup = SppBackupService("spp")
        self.restorer = self.backup.restorer()
        self.inventory = VsphereInventory("vsphere")
        self.request = req or request(**overrides)
        self.check_mode = False
        self.lines = []
        self.log = self.lines.append
        self.sleep = self.advance
        self.deadline = _wait.Deadline(self.request["timeout"], self.clock)
        self.seen_sessions = set()
        self.known_morefs = set()
        self.session_logs = {}
        self.warnings = []
        self.sessions_since_ms = None
        self.restore_posted = False
        self.restore_failed = False

    def clock(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds

    def now_ms(self):
        return T0 + int(self.now * 1000)
