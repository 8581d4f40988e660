# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers that several integration test modules share (test modules never import each other).

End states are read through independent eyes, never through the collection's own readers:

- the backup server with ``SppReader`` (``lab.spp``): the SPP emulator's own record (``GET /state`` of its admin API)
  in the lab, or, against a real SPP, the REST API through plain ``requests`` calls written here (``SppRest``);
- vCenter with plain pyVmomi (``vcenter.py``, the one place that talks to vCenter; ``lab.vcenter()`` connects).

Set-up that changes the backup server's state behind the module's back (``create_sla_policy``, ``assign_policies``,
``hold_job``, ``start_job``, ``start_adhoc_backup``, ``back_up``) goes through ``SppRest`` as well, as someone using
the console or the API would.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid

import pytest
import requests

import vcenter

CONVERGES = [True, True, False, False]  # check, real, check, real: a change, then none
# Session statuses after which a job session does not change any more (spp-api.md section 5.5).
TERMINAL_STATUSES = frozenset(("COMPLETED", "PARTIAL", "FAILED", "CANCELED", "CANCELLED", "ABORTED", "STOPPED"))
RESTORE_SERVICE = "serviceprovider.recovery.hypervisor"
PAGE_SIZE = 1000


# -- ansible output -----------------------------------------------------------------------------------------------

def plain(value):
    """JSON of ``ansible-inventory --list`` without the markers of unsafe strings that ansible-core writes (host names
    and values)."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def recap(output, host="localhost"):
    """The PLAY RECAP counts of ``host`` in an ansible-playbook output: ``{"ok": 4, "changed": 1, "failed": 0 ...}``."""
    line = re.search(r"^%s\s*:(.*)$" % re.escape(host), output.split("PLAY RECAP")[-1], re.M)
    assert line, "no PLAY RECAP line for %s in:\n%s" % (host, output[-3000:])
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line.group(1))}


def changed_pattern(results):
    """``changed`` of each result, as booleans (compare with CONVERGES)."""
    return [bool(result.get("changed")) for result in results]


def poll(check, timeout, what, interval=0.2, give_up=None):
    """The first truthy result of ``check()``, tried every ``interval`` s for up to ``timeout`` s. ``give_up()``,
    when given, is called after each miss: it raises to stop early (e.g. the process waited on has ended)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if give_up is not None:
            give_up()
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %s s" % (what, timeout))
        time.sleep(interval)


# -- vCenter, through plain pyVmomi -------------------------------------------------------------------------------

def power_state(lab, name):
    with lab.vcenter() as client:
        return vcenter.power_state(client, name)


def vm_names_like(lab, prefix):
    with lab.vcenter() as client:
        return vcenter.names_like(client, prefix)


@contextlib.contextmanager
def cloned_vm(lab, source, prefix, power_on=False, folder=None):
    """A VM cloned from ``source`` after the backup server's last inventory (so the server does not know it), named
    ``<prefix>-<random>``; destroyed on the way out. Yields its name."""
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:6])
    try:
        with lab.vcenter() as client:
            vcenter.clone_vm(client, source, name, power_on=power_on, folder=folder)
        yield name
    finally:
        with lab.vcenter() as client:
            vcenter.destroy_vm(client, name)


# -- the backup server through its REST API, with plain requests ---------------------------------------------------

def _verify(env):
    if env.get("SPP_CA_PATH"):
        return env["SPP_CA_PATH"]
    return str(env.get("SPP_VALIDATE_CERTS", "true")).lower() not in ("0", "false", "no", "off")


class SppRest:
    """A session with the SPP REST API (spp-api.md), in plain ``requests``: login with basic auth, the session id in
    ``X-Endeavour-Sessionid``, paged listings, the ``/ngp`` wrapper removed. A context manager that logs out."""

    def __init__(self, env):
        self.base = env["SPP_URL"].rstrip("/")
        self.verify = _verify(env)  # given per request: REQUESTS_CA_BUNDLE would beat Session.verify
        self.http = requests.Session()
        self.http.headers["Accept"] = "application/json"
        answer = self.http.post(self.base + "/api/endeavour/session", auth=(env["SPP_USERNAME"], env["SPP_PASSWORD"]),
                                verify=self.verify, timeout=60)
        answer.raise_for_status()
        self.http.headers["X-Endeavour-Sessionid"] = answer.json()["sessionid"]

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.http.delete(self.base + "/api/endeavour/session", verify=self.verify, timeout=60)
        self.http.close()
        return False

    def call(self, method, path_or_href, params=None, body=None):
        url = path_or_href if path_or_href.startswith("http") else self.base + path_or_href
        answer = self.http.request(method, url, params=params, json=body, verify=self.verify, timeout=120)
        assert answer.ok, "SPP %s %s: HTTP %s %s" % (method, url, answer.status_code, answer.text[:500])
        payload = answer.json() if answer.content else None
        if path_or_href.startswith("/ngp/hypervisor") and isinstance(payload, dict) and "statusCode" in payload:
            return payload.get("response")  # the ngp wrapper of hypervisor actions (section 14.3)
        return payload

    def pages(self, path_or_href, key, params=None, method="GET", body=None):
        """Every item of a paged listing: ``links.nextPage`` while there is one, else ``pageStartIndex``."""
        target, query, start = path_or_href, dict(params or {}, pageSize=PAGE_SIZE, pageStartIndex=0), 0
        while True:
            page = self.call(method, target, query, body) or {}
            items = page.get(key) or []
            yield from items
            following = ((page.get("links") or {}).get("nextPage") or {}).get("href")
            if following and items:
                target, query = following, None
            elif len(items) < PAGE_SIZE:
                return
            else:
                start += len(items)
                target, query = path_or_href, dict(params or {}, pageSize=PAGE_SIZE, pageStartIndex=start)

    # -- reads --
    def hypervisor_ids(self):
        return [hv["id"] for hv in self.pages("/api/hypervisor", "hypervisors") if hv.get("type", "vmware") == "vmware"]

    def vms(self, source="hlo"):
        return [vm for hv in self.hypervisor_ids()
                for vm in self.pages("/api/hypervisor/%s/vm" % hv, "vms", {"from": source})]

    def vm(self, name):
        """The live VM object named ``name`` (exactly one)."""
        found = [vm for vm in self.vms() if vm.get("name") == name]
        assert len(found) == 1, "the backup server has %d VM(s) named %s" % (len(found), name)
        return found[0]

    def vdisks(self, vm):
        return list(self.pages(vm["links"]["vdisks"]["href"], "vdisks"))

    def vdisk_search(self):
        """Every virtual disk in one search (the lab's emulator offers it; spp-api.md section 14.17)."""
        return list(self.pages("/api/hypervisor/search", "vdisks", {"resourceType": "vdisk", "from": "hlo"},
                               method="POST", body={"name": "*", "hypervisorType": "vmware"}))

    def all_vdisks(self):
        """Every virtual disk, with its VM's name: the search where the server has it, else each VM's
        ``links.vdisks`` (the public-record profile answers 404 to the search, spp-api.md section 14.17)."""
        probe = self.http.post(self.base + "/api/hypervisor/search", params={"resourceType": "vdisk", "from": "hlo",
                                                                             "pageSize": 1, "pageStartIndex": 0},
                               json={"name": "*", "hypervisorType": "vmware"}, verify=self.verify, timeout=120)
        if probe.status_code != 404:
            return self.vdisk_search()
        return [dict(disk, vmName=disk.get("vmName") or vm["name"]) for vm in self.vms() for disk in self.vdisks(vm)]

    def recovery_vms(self, name):
        found = self.pages("/api/hypervisor/search", "vms", {"resourceType": "vm", "from": "recovery"}, method="POST",
                           body={"name": name, "hypervisorType": "vmware"})
        return [vm for vm in found if vm.get("name") == name]  # the search matches loosely

    def slas(self):
        return list(self.pages("/ngp/slapolicy", "slapolicies"))

    def jobs(self):
        return list(self.pages("/api/endeavour/job", "jobs"))

    def job(self, name):
        found = [job for job in self.jobs() if job.get("name") == name]
        assert found, "the backup server has no job named %s" % name
        return found[0]

    def sessions(self):
        return list(self.pages("/api/endeavour/jobsession", "sessions"))

    # -- writes (set-up) --
    def job_action(self, job_name, action):
        """POST to one of the job's action links; a start names the first workflow of the job's start schema, as IBM's
        ``spplib/sdk/client.py`` ``JobAPI.run`` does (the public-record profile refuses a start without it)."""
        link = self.job(job_name)["links"][action]
        href = link["href"]
        params = None if "action=" in href else {"action": action, "actionname": action}
        body = None
        if action == "start" and link.get("schema"):
            workflows = self.call("GET", link["schema"])["parameter"]["actionname"]["values"]
            body = {"actionname": workflows[0]["value"]}
        return self.call("POST", href, params, body)


# -- what the backup server holds ---------------------------------------------------------------------------------

def _newest_first(versions):
    return sorted(versions, key=lambda v: int((v.get("protectionInfo") or {}).get("protectionTime") or 0), reverse=True)


def _by_start(sessions):
    return sorted(sessions, key=lambda s: (int(s.get("start") or 0), str(s.get("id"))))


class _AdminFacts:
    """One reading of the emulator's own record (admin ``GET /state``). It keeps assignments by VM and disk id and no
    disk labels, so the labels come from one plain REST search."""

    def __init__(self, lab):
        self.lab = lab
        self.dump = lab.admin("GET", "/state")

    def vm_records(self):
        versions = self.dump["versions"]
        return [{"id": vm_id, "name": vm["name"], "moref": vm["moref"],
                 "policies": sorted(self.dump["vm_policies"].get(vm_id, [])),
                 "protection_time": max([int(v["protectionInfo"]["protectionTime"]) for v in versions.get(vm_id, [])],
                                        default=None)}
                for vm_id, vm in self.dump["vms"].items()]

    def disk_records(self):
        with SppRest(self.lab.env) as rest:
            disks = rest.all_vdisks()
        return [{"vm": disk["vmName"], "label": disk["name"],
                 "policies": sorted(self.dump["disk_policies"].get(disk["id"], []))} for disk in disks]

    def slas(self):
        return self.dump["slas"]

    def jobs(self):
        return self.dump["jobs"]

    def sessions(self):
        return self.dump["sessions"]

    def session(self, session_id):
        return next((s for s in self.dump["sessions"] if str(s["id"]) == str(session_id)), None)

    def versions_of(self, name):
        live = self.dump["vms"]
        return [version for vm_id, versions in self.dump["versions"].items() for version in versions
                if (live[vm_id]["name"] if vm_id in live else version.get("name")) == name]

    def options_of(self, name):
        """The options set on the VM (applyOptions); the server's defaults are not in the record."""
        ids = [vm_id for vm_id, vm in self.dump["vms"].items() if vm["name"] == name]
        assert len(ids) == 1, "the backup server has %d VM(s) named %s" % (len(ids), name)
        return self.dump["vm_options"].get(ids[0], {})


class _RestFacts:
    """The same facts, read from a real SPP through ``SppRest``."""

    def __init__(self, rest):
        self.rest = rest
        self._vms = None

    def _live(self):
        if self._vms is None:
            self._vms = self.rest.vms()
        return self._vms

    def vm_records(self):
        return [{"id": vm["id"], "name": vm["name"],
                 "moref": ((vm.get("nativeObject") or {}).get("mor") or {}).get("val"),
                 "policies": sorted(vm.get("storageProfiles") or []),
                 "protection_time": (vm.get("protectionInfo") or {}).get("protectionTime")} for vm in self._live()]

    def disk_records(self):
        return [{"vm": vm["name"], "label": disk["name"], "policies": sorted(disk.get("storageProfiles") or [])}
                for vm in self._live() for disk in self.rest.vdisks(vm)]

    def slas(self):
        return self.rest.slas()

    def jobs(self):
        return self.rest.jobs()

    def sessions(self):
        return self.rest.sessions()

    def session(self, session_id):
        return self.rest.call("GET", "/api/endeavour/jobsession/%s" % session_id)

    def versions_of(self, name):
        return [version for vm in self.rest.recovery_vms(name)
                for version in self.rest.pages(vm["links"]["versions"]["href"], "versions", {"embedCopies": "true"})]

    def options_of(self, name):
        return self.rest.call("GET", self.rest.vm(name)["links"]["options"]["href"])["options"]


class SppReader:
    """What the backup server holds, read fresh at each call and never through the collection: the emulator's own
    record in the lab (``lab.emulated``), else the SPP REST API through ``SppRest``."""

    def __init__(self, lab):
        self.lab = lab

    @contextlib.contextmanager
    def _facts(self):
        if self.lab.emulated:
            yield _AdminFacts(self.lab)
        else:
            with SppRest(self.lab.env) as rest:
                yield _RestFacts(rest)

    # -- inventory and assignments --
    def vms(self):
        """VM name -> ``{"id", "name", "moref", "policies" (sorted VM-level SLA names), "protection_time"}`` for every
        VM of the backup server's live inventory (``protection_time``: epoch ms of its newest recovery point)."""
        with self._facts() as facts:
            return {vm["name"]: vm for vm in facts.vm_records()}

    def vm_by_moref(self, moref):
        """The record of the VM with this moref (as the backup server identifies VMs), or None."""
        found = [vm for vm in self.vms().values() if vm["moref"] == moref]
        assert len(found) <= 1, found
        return found[0] if found else None

    def policies_of(self, name):
        """The VM-level SLA policies of the VM named ``name``, sorted."""
        return self.vms()[name]["policies"]

    def state(self):
        """One reading of every assignment: ``{"vms": {vm: [policies]}, "disks": {(vm, disk label): [policies]},
        "policies": {name: SLA policy as SPP renders it}, "held": [names of held jobs]}``; comparable with ``==``."""
        with self._facts() as facts:
            return {"vms": {vm["name"]: vm["policies"] for vm in facts.vm_records()},
                    "disks": {(d["vm"], d["label"]): d["policies"] for d in facts.disk_records()},
                    "policies": {sla["name"]: sla for sla in facts.slas()},
                    "held": sorted(job["name"] for job in facts.jobs() if job.get("status") == "HELD")}

    def sla_policies(self):
        """SLA policy name -> its definition as SPP renders it (``spec.subpolicy`` ...)."""
        with self._facts() as facts:
            return {sla["name"]: sla for sla in facts.slas()}

    def options_of(self, name):
        """The backup options of the VM named ``name`` (``makeApplicationConsistent`` ...)."""
        with self._facts() as facts:
            return facts.options_of(name)

    # -- jobs, sessions, recovery points --
    def job(self, name):
        with self._facts() as facts:
            return next((job for job in facts.jobs() if job["name"] == name), None)

    def held_jobs(self):
        with self._facts() as facts:
            return sorted(job["name"] for job in facts.jobs() if job.get("status") == "HELD")

    def sessions(self, job_name=None):
        """Job sessions, oldest first; only those of the job ``job_name`` when it is given."""
        with self._facts() as facts:
            return _by_start(s for s in facts.sessions() if job_name is None or s.get("jobName") == job_name)

    def session_ids(self):
        return {s["id"] for s in self.sessions()}

    def session(self, session_id):
        with self._facts() as facts:
            return facts.session(session_id)

    def restore_sessions(self):
        """The VM restore sessions, oldest first."""
        return [s for s in self.sessions() if s.get("serviceId") == RESTORE_SERVICE]

    def versions_of(self, name):
        """Recovery points of the VM(s) named ``name``, deleted VMs included, newest first."""
        with self._facts() as facts:
            return _newest_first(facts.versions_of(name))

    def wait_until_settled(self, session_id, timeout=300):
        """The session once it has ended (COMPLETED, PARTIAL, FAILED ...)."""
        def settled():
            session = self.session(session_id)
            return session if session and str(session.get("status")).upper() in TERMINAL_STATUSES else None
        return poll(settled, timeout, "job session %s did not end" % session_id)


# -- set-up on the backup server, as someone using its API would ---------------------------------------------------

def create_sla_policy(lab, name, site, days=7):
    """A backup SLA policy storing at ``site`` and kept ``days`` days, daily (spp-api.md section 3.2)."""
    definition = {"name": name, "type": "backup", "version": "1.0", "spec": {"simple": True, "subpolicy": [{
        "type": "REPLICATION", "software": True, "site": site, "useEncryption": False, "retention": {"age": days},
        "trigger": {"type": "DAILY", "frequency": 1, "timezone": "UTC"}}]}}
    with SppRest(lab.env) as rest:
        rest.call("POST", "/ngp/slapolicy", body=definition)


def _reference(resource):
    return {"href": resource["links"]["self"]["href"], "id": resource["id"],
            "metadataPath": resource.get("metadataPath")}


def assign_policies(lab, vms=None, disks=None):
    """Set whole policy sets with applySLAPolicies, one call per resource (section 4): ``vms`` is ``{vm name:
    [policy names]}``, ``disks`` is ``{(vm name, disk label): [policy names]}``."""
    with SppRest(lab.env) as rest:
        live = {vm["name"]: vm for vm in rest.vms()}
        slas = {sla["name"]: sla for sla in rest.slas()}
        targets = [(live[name], names) for name, names in sorted((vms or {}).items())]
        for (vm_name, label), names in sorted((disks or {}).items()):
            disk = next(d for d in rest.vdisks(live[vm_name]) if d["name"] == label)
            targets.append((disk, names))
        for resource, names in targets:
            rest.call("POST", "/ngp/hypervisor", {"action": "applySLAPolicies"}, {
                "subtype": "vmware", "version": "1.0", "resources": [_reference(resource)],
                "slapolicies": [{"href": slas[n]["links"]["self"]["href"], "id": slas[n]["id"], "name": n}
                                for n in names]})


def can_hold(lab, job_name):
    """Whether the job shows a ``hold`` link (section 14.7); the public record shows none (section 14.17), so there a
    held policy cannot be set up through the API."""
    return "hold" in ((SppReader(lab).job(job_name) or {}).get("links") or {})


def hold_job(lab, job_name):
    """Hold the job (its ``hold`` action link, section 14.7): an SLA whose job is held protects nothing. Skips the
    test when the job shows no hold link (the public-record profile): nothing can be held through the API there."""
    if not can_hold(lab, job_name):
        pytest.skip("job %s shows no hold link (as on the public record, spp-api.md 14.17): a held policy cannot be "
                    "set up through the API" % job_name)
    with SppRest(lab.env) as rest:
        rest.job_action(job_name, "hold")
    assert job_name in SppReader(lab).held_jobs()


def start_job(lab, job_name):
    """Start the job (link ``start``); return the id of the session it made."""
    reader = SppReader(lab)
    before = {s["id"] for s in reader.sessions(job_name)}
    with SppRest(lab.env) as rest:
        rest.job_action(job_name, "start")
    return poll(lambda: next((s["id"] for s in reader.sessions(job_name) if s["id"] not in before), None), 60,
                "the session of job %s" % job_name)


def start_adhoc_backup(lab, policy, vm_names):
    """Back the VMs up now with ``policy`` (``POST /ngp/hypervisor?action=adhoc``); return the session id."""
    reader = SppReader(lab)
    job_name = "vmware_" + policy
    before = {s["id"] for s in reader.sessions(job_name)}
    with SppRest(lab.env) as rest:
        live = {vm["name"]: vm for vm in rest.vms()}
        answer = rest.call("POST", "/ngp/hypervisor", {"action": "adhoc"}, {
            "slaPolicyName": policy, "subtype": "vmware",
            "resource": [live[name]["links"]["self"]["href"] for name in vm_names]}) or {}
    if answer.get("sessionId"):
        return answer["sessionId"]
    return poll(lambda: next((s["id"] for s in reader.sessions(job_name) if s["id"] not in before), None), 60,
                "the session of the backup with %s" % policy)


@contextlib.contextmanager
def protected_clone(lab, prefix, policies, backup_policy="Gold"):
    """A powered-on clone of DC0_H0_VM0 named ``<prefix><6 hex>``, known to the backup server, protected by
    ``policies`` and backed up once with ``backup_policy``; it and every VM whose name starts with its name are
    destroyed at the end."""
    name = "%s%s" % (prefix, uuid.uuid4().hex[:6])
    try:
        with lab.vcenter() as client:
            vcenter.clone_vm(client, "DC0_H0_VM0", name, power_on=True)
        lab.module("vm_backup_policy", {"vm": name, "policies": list(policies), "rescan": True})
        back_up(lab, backup_policy, [name])
        yield name
    finally:
        with lab.vcenter() as client:
            for vm_name in vcenter.names_like(client, name):
                vcenter.destroy_vm(client, vm_name)


def back_up(lab, policy, vm_names, timeout=300):
    """An ad hoc backup that must complete; returns the session."""
    session = SppReader(lab).wait_until_settled(start_adhoc_backup(lab, policy, vm_names), timeout)
    assert session["status"] == "COMPLETED", session
    return session
