# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the SPP emulator tests: one lab (vcsim + emulator over TLS) per profile and test process, a raw HTTP
client of the SPP API, and a pyVmomi view of vCenter to check effects independently of the emulator's answers. The
Cloud Temple console emulator's tests use the same lab (which starts that emulator too) through ``cloudtemple``.

The suite chooses its profiles itself (``default`` for most tests, both for the profile tests), whatever
``SPP_EMULATOR_PROFILE`` says: it is the emulator's own contract, not a client's."""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import pytest
import requests
from pyVmomi import vim

from spp_emulator.vcenter import (
    PropertyCollector,
    VCenterConfig,
    connect,
    container_spec,
    object_properties,
    retrieve,
    wait_for_task,
)
from lab import Lab  # tests/conftest.py puts tests/lab and tests/emulators/spp on sys.path
from cloudtemple_api import ConsoleApi  # the Cloud Temple console emulator's test client (a sibling module)

SPEED = 0.05
WAIT_SECONDS = 30
BASE_VM = "DC0_H0_VM0"  # powered-on VM of the simulator's default model, cloned for each test that changes VMs
TERMINAL = ("COMPLETED", "PARTIAL", "FAILED", "CANCELED")
PROFILES = ("default", "public-record")
CLEANUP_LINK = {"default": "cleanup", "public-record": "end_iv"}


def now_ms() -> int:
    return int(time.time() * 1000)


def is_test_active(session: dict) -> bool:
    """An active test restore: PENDING with its action links (spp-api.md 14.9)."""
    return session["status"] == "PENDING" and "rrp" in session["links"]


def settled(session: dict) -> bool:
    """Ended, or an active test restore waiting for its follow-up action."""
    return session["status"] in TERMINAL or is_test_active(session)


VM_PATHS = [
    "name",
    "config.instanceUuid",
    "runtime.powerState",
    "runtime.host",
    "snapshot",
    "config.hardware.device",
    "config.files.vmPathName",
]


def wait_until(condition: Callable[[], Any], timeout: float = WAIT_SECONDS, message: str = "condition"):
    """Poll condition() until it returns something truthy; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {message}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


class SppApi:
    """Bare HTTP access to the emulator with requests: what a client sees, nothing interpreted."""

    def __init__(self, env: dict):
        self.profile = env["SPP_EMULATOR_PROFILE"]
        self.url = env["SPP_URL"]
        self.admin_url = env["SPP_EMULATOR_ADMIN"]
        self.username, self.password = env["SPP_USERNAME"], env["SPP_PASSWORD"]
        self.http = requests.Session()
        self.http.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise replace the lab CA
        self.http.verify = env["SPP_CA_PATH"]
        self.session_id = None

    def login(self) -> str:
        response = self.http.post(f"{self.url}/api/endeavour/session", auth=(self.username, self.password), timeout=30)
        assert response.status_code == 200, response.text
        self.session_id = response.json()["sessionid"]
        return self.session_id

    def raw(self, method: str, path_or_href: str, session_id: str | None = "current", **kwargs) -> requests.Response:
        url = path_or_href if path_or_href.startswith("http") else self.url + path_or_href
        headers = dict(kwargs.pop("headers", {}))
        sid = self.session_id if session_id == "current" else session_id
        if sid:
            headers["X-Endeavour-Sessionid"] = sid
        return self.http.request(method, url, headers=headers, timeout=60, **kwargs)

    def call(self, method: str, path_or_href: str, expect: int = 200, **kwargs) -> Any:
        response = self.raw(method, path_or_href, **kwargs)
        assert response.status_code == expect, f"{method} {path_or_href}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def get(self, path_or_href: str, **params) -> Any:
        return self.call("GET", path_or_href, params=params or None)

    def admin(self, method: str, path: str, body: dict | None = None) -> Any:
        response = self.http.request(method, self.admin_url + path, json=body, timeout=120)
        assert response.status_code == 200, response.text
        return response.json()

    # --- domain helpers ----------------------------------------------------------------------------------------

    def vm(self, name: str, source: str = "hlo") -> dict:
        found = self.call(
            "POST",
            "/api/hypervisor/search",
            params={"resourceType": "vm", "from": source},
            json={"name": name, "hypervisorType": "vmware"},
        )["vms"]
        matches = [vm for vm in found if vm["name"] == name]
        assert len(matches) == 1, f"expected one VM named {name}, got {found}"
        return matches[0]

    def sla(self, name: str) -> dict:
        return next(sla for sla in self.get("/ngp/slapolicy")["slapolicies"] if sla["name"] == name)

    def job(self, name: str) -> dict:
        return next(job for job in self.get("/api/endeavour/job")["jobs"] if job["name"] == name)

    def assign(self, resources: list[dict], sla_names: list[str], expect: int = 200) -> dict:
        body = {
            "subtype": "vmware",
            "version": "1.0",
            "resources": [
                {"href": r["links"]["self"]["href"], "id": r["id"], "metadataPath": r["metadataPath"]}
                for r in resources
            ],
            "slapolicies": [
                {"href": s["links"]["self"]["href"], "id": s["id"], "name": s["name"]}
                for s in (self.sla(name) for name in sla_names)
            ],
        }
        return self.call("POST", "/ngp/hypervisor", expect=expect, params={"action": "applySLAPolicies"}, json=body)

    def apply_options(self, vm: dict, options: dict) -> requests.Response:
        body = {
            "subtype": "vmware",
            "version": "1.0",
            "options": options,
            "resources": [{"href": vm["links"]["self"]["href"], "id": vm["id"]}],
        }
        return self.raw("POST", "/ngp/hypervisor", params={"action": "applyOptions"}, json=body)

    def session(self, session_id: str) -> dict:
        return self.get(f"/api/endeavour/jobsession/{session_id}")

    def wait_session(self, session_id: str, statuses=TERMINAL) -> dict:
        return wait_until(
            lambda: (s := self.session(session_id))["status"] in statuses and s,
            message=f"job session {session_id} to reach {statuses}",
        )

    def wait_settled(self, session_id: str) -> dict:
        """Wait until the session ends or is an active test restore."""
        return wait_until(
            lambda: settled(s := self.session(session_id)) and s, message=f"job session {session_id} to settle"
        )

    def find_session(self, job_name: str, since_ms: int) -> str:
        """The id of the newest session of job_name that started at or after since_ms: how IBM's samples find a
        session (by jobName), for answers that carry no sessionId."""
        criteria = json.dumps(
            [
                {"property": "jobName", "value": job_name, "op": "="},
                {"property": "start", "value": since_ms, "op": ">="},
            ]
        )
        sort = json.dumps([{"property": "start", "direction": "DESC"}])
        found = wait_until(
            lambda: self.get("/api/endeavour/jobsession", filter=criteria, sort=sort)["sessions"],
            message=f"a session of {job_name}",
        )
        return found[0]["id"]

    def started_session(self, answer: dict, since_ms: int) -> str:
        """The session an adhoc or restore answer started: response.sessionId, else found by response.name."""
        response = answer["response"]
        return response.get("sessionId") or self.find_session(response["name"], since_ms)

    def start_job(self, job: dict, expect: int = 200) -> dict:
        """Start a job as IBM's JobAPI.run does: actionname from links.start.schema. Returns the start answer."""
        workflows = self.get(job["links"]["start"]["schema"])["parameter"]["actionname"]["values"]
        return self.call(
            "POST", job["links"]["start"]["href"], expect=expect, json={"actionname": workflows[0]["value"]}
        )

    def run_job(self, job: dict) -> str:
        """Start the job and return the id of its new session, found through links.livejobsessions."""
        before = {s["id"] for s in self.get(job["links"]["livejobsessions"]["href"])["sessions"]}
        self.start_job(job)
        live = wait_until(
            lambda: [s for s in self.get(job["links"]["livejobsessions"]["href"])["sessions"] if s["id"] not in before],
            message=f"the new session of {job['name']}",
        )
        return live[0]["id"]

    def restores(self, session: dict) -> list[dict]:
        """What the emulator restored in this session, per VM (admin /state: the API lists no VMs)."""
        return self.admin("GET", "/state")["restores"][session["id"]]

    def cleanup_link(self) -> str:
        return CLEANUP_LINK[self.profile]

    def logs(self, session: dict) -> list[dict]:
        return self.get(session["links"]["log"]["href"], pageSize=1000)["logs"]

    def backup(self, vm: dict, sla_name: str = "Gold") -> dict:
        """Assign the SLA, run an ad hoc backup of the VM and wait for the session to end."""
        self.assign([vm], [sla_name])
        since = now_ms()
        answer = self.call(
            "POST",
            "/ngp/hypervisor",
            expect=201,
            params={"action": "adhoc"},
            json={"slaPolicyName": sla_name, "subtype": "vmware", "resource": [vm["links"]["self"]["href"]]},
        )
        return self.wait_session(self.started_session(answer, since))

    def restore(self, vm: dict, mode: str, destination: dict | None = None, **options) -> dict:
        """Restore the latest version of vm in the given mode (options: the subpolicy's option fields) and wait
        until it ends or, in test mode, is an active test restore."""
        recovery_vm = self.vm(vm["name"], source="recovery") if vm.get("inHLO", True) else vm
        body = {
            "subType": "vmware",
            "spec": {
                "source": [
                    {
                        "href": recovery_vm["links"]["self"]["href"],
                        "id": recovery_vm["id"],
                        "resourceType": "vm",
                        "include": True,
                        "metadata": {"name": vm["name"]},
                        "version": {
                            "href": recovery_vm["links"]["latestversion"]["href"],
                            "metadata": {"useLatest": True, "name": "Use Latest"},
                        },
                    }
                ],
                "subpolicy": [
                    {
                        "type": "IV",
                        "destination": destination or {"systemDefined": True},
                        "source": None,
                        "option": {
                            "mode": mode,
                            "poweron": False,
                            "allowvmoverwrite": False,
                            "continueonerror": True,
                            "autocleanup": True,
                            **options,
                        },
                    }
                ],
            },
            "script": {"preGuest": None, "postGuest": None, "continueScriptsOnError": False},
        }
        since = now_ms()
        answer = self.call("POST", "/ngp/hypervisor", expect=201, params={"action": "restore"}, json=body)
        assert answer["statusCode"] == 201 and answer["response"]["name"].startswith("onDemandRestore_")
        return self.wait_settled(self.started_session(answer, since))

    def inventory(self) -> None:
        self.admin("POST", "/inventory")


class VCenter:
    """Direct pyVmomi access to the simulator, to check what the emulator did."""

    def __init__(self, env: dict):
        url = f"https://{env['VMWARE_HOST']}:{env['VMWARE_PORT']}/sdk"
        self.config = VCenterConfig(url, env["VMWARE_USER"], env["VMWARE_PASSWORD"], env["VMWARE_CA_PATH"])
        self._connection = connect(self.config)
        self.si = self._connection.__enter__()  # pylint: disable=unnecessary-dunder-call

    def close(self) -> None:
        self._connection.__exit__(None, None, None)

    def vms(self) -> dict[str, dict]:
        """name -> {moref, instance_uuid, power_state, has_snapshots, nics: [{mac, connected, start_connected}]}
        (names are unique in these tests)."""
        specs, view = container_spec(self.si, [vim.VirtualMachine])
        found = {}
        try:
            for obj, props in retrieve(
                self.si, specs, [PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=VM_PATHS)]
            ):
                found[props["name"]] = self._describe(obj, props)
        finally:
            view.DestroyView()
        return found

    def vm(self, name: str) -> dict | None:
        return self.vms().get(name)

    def by_moref(self, moref: str) -> dict | None:
        obj = vim.VirtualMachine(moref, self.si._stub)  # pylint: disable=protected-access
        props = object_properties(self.si, obj, vim.VirtualMachine, VM_PATHS)
        return self._describe(obj, props) if props else None

    @staticmethod
    def _describe(obj, props: dict) -> dict:
        devices = props.get("config.hardware.device") or []
        nics = sorted((d for d in devices if isinstance(d, vim.vm.device.VirtualEthernetCard)), key=lambda d: d.key)
        return {
            "moref": obj._moId,  # pylint: disable=protected-access
            "name": props["name"],
            "instance_uuid": props.get("config.instanceUuid"),
            "power_state": props.get("runtime.powerState"),
            "host": props["runtime.host"]._moId,  # pylint: disable=protected-access
            "has_snapshots": props.get("snapshot") is not None,
            "datastore": (props.get("config.files.vmPathName") or "").partition("]")[0].lstrip("["),
            "disks": [d.deviceInfo.label for d in devices if isinstance(d, vim.vm.device.VirtualDisk)],
            "nics": [
                {
                    "mac": n.macAddress,
                    "connected": bool(n.connectable and n.connectable.connected),
                    "start_connected": bool(n.connectable and n.connectable.startConnected),
                    "network": getattr(n.backing, "deviceName", None)
                    or getattr(getattr(n.backing, "port", None), "portgroupKey", None),
                }
                for n in nics
            ],
        }

    def recent_tasks(self) -> list[tuple[str, str]]:
        """(descriptionId, entityName) of vCenter's recent tasks, oldest first."""
        tasks = object_properties(self.si, self.si.content.taskManager, vim.TaskManager, ["recentTask"])["recentTask"]
        found = []
        for task in tasks:
            info = object_properties(self.si, task, vim.Task, ["info.descriptionId", "info.entityName"]) or {}
            found.append((info.get("info.descriptionId"), info.get("info.entityName")))
        return found

    def managed(self, name_or_moref: str) -> vim.VirtualMachine:
        moref = (self.vm(name_or_moref) or {}).get("moref", name_or_moref)
        return vim.VirtualMachine(moref, self.si._stub)  # pylint: disable=protected-access

    def clone(self, source: str, name: str) -> None:
        vm = self.managed(source)
        folder = object_properties(self.si, vm, vim.VirtualMachine, ["parent"])["parent"]
        spec = vim.vm.CloneSpec(location=vim.vm.RelocateSpec(), powerOn=False, template=False)
        wait_for_task(self.si, vm.CloneVM_Task(folder=folder, name=name, spec=spec))

    def destroy(self, name_or_moref: str) -> None:
        vm = self.managed(name_or_moref)
        if (
            object_properties(self.si, vm, vim.VirtualMachine, ["runtime.powerState"])["runtime.powerState"]
            == "poweredOn"
        ):
            wait_for_task(self.si, vm.PowerOffVM_Task())
        wait_for_task(self.si, vm.Destroy_Task())

    def add_datastore(self, name: str) -> None:
        """A local datastore on every host (the simulator backs it with a directory); nothing when it exists."""
        specs, view = container_spec(self.si, [vim.HostSystem, vim.Datastore])
        try:
            found = list(
                retrieve(
                    self.si,
                    specs,
                    [
                        PropertyCollector.PropertySpec(type=vim.HostSystem, pathSet=["configManager.datastoreSystem"]),
                        PropertyCollector.PropertySpec(type=vim.Datastore, pathSet=["name"]),
                    ],
                )
            )
        finally:
            view.DestroyView()
        if any(props.get("name") == name for _obj, props in found):
            return
        path = tempfile.mkdtemp(prefix="vcsim-datastore-")
        for _obj, props in found:
            system = props.get("configManager.datastoreSystem")
            if system is not None:
                system.CreateLocalDatastore(name=name, path=path)

    def snapshot(self, name: str) -> None:
        task = self.managed(name).CreateSnapshot_Task(name="manual", description="", memory=False, quiesce=False)
        wait_for_task(self.si, task)

    def add_disk(self, name: str, disk_mode: str) -> None:
        """Add a 1 MB disk in the given mode (e.g. independent_persistent) on the VM's SCSI controller."""
        vm = self.managed(name)
        devices = object_properties(self.si, vm, vim.VirtualMachine, ["config.hardware.device"])[
            "config.hardware.device"
        ]
        controller = next(d for d in devices if isinstance(d, vim.vm.device.VirtualSCSIController))
        disk = vim.vm.device.VirtualDisk(
            key=-1,
            controllerKey=controller.key,
            unitNumber=3,
            capacityInKB=1024,
            backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
                fileName="", diskMode=disk_mode, thinProvisioned=True
            ),
        )
        change = vim.vm.device.VirtualDeviceSpec(operation="add", fileOperation="create", device=disk)
        wait_for_task(self.si, vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(deviceChange=[change])))


def _lab(tmp_path_factory, profile: str):
    running = Lab(
        str(tmp_path_factory.mktemp(f"lab-{profile}")),
        datacenters=1,
        clusters=1,
        cluster_hosts=1,
        hosts=1,
        vms=2,
        speed=SPEED,
        profile=profile,
    )
    running.start()
    return running


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """The lab of the default profile (most tests)."""
    running = _lab(tmp_path_factory, "default")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def public_lab(tmp_path_factory):
    """The lab of the public-record profile, started by the first test that needs it in this process."""
    running = _lab(tmp_path_factory, "public-record")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def vcenter(lab):
    client = VCenter(lab.env)
    yield client
    client.close()


@pytest.fixture(scope="session")
def public_vcenter(public_lab):
    client = VCenter(public_lab.env)
    yield client
    client.close()


def reset_client(running: Lab) -> SppApi:
    """A logged-in client on an emulator reset to its initial state (inventory re-read)."""
    api = SppApi(running.env)
    api.admin("POST", "/reset", {"inventory": True})
    api.admin("DELETE", "/requests")
    api.login()
    return api


def make_fresh_vm(spp: SppApi, vcenter: VCenter, request) -> dict:
    """A new VM cloned from the base VM for this test, inventoried; it and the VMs restored from it are removed
    afterwards."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    vcenter.clone(BASE_VM, prefix)
    spp.inventory()

    def cleanup():
        for name, info in vcenter.vms().items():
            if name.startswith(prefix):
                vcenter.destroy(info["moref"])

    request.addfinalizer(cleanup)
    return spp.vm(prefix)


@pytest.fixture
def spp(lab):
    """A logged-in client of the default profile's emulator, reset."""
    return reset_client(lab)


@pytest.fixture
def spp_public(public_lab):
    """A logged-in client of the public-record profile's emulator, reset."""
    return reset_client(public_lab)


@pytest.fixture
def fresh_vm(spp, vcenter, request):
    return make_fresh_vm(spp, vcenter, request)


@pytest.fixture
def public_fresh_vm(spp_public, public_vcenter, request):
    return make_fresh_vm(spp_public, public_vcenter, request)


@dataclass
class Bed:
    """One profile's emulator (reset, logged in) and its vCenter."""

    profile: str
    spp: SppApi
    vcenter: VCenter
    request: Any

    def fresh_vm(self) -> dict:
        return make_fresh_vm(self.spp, self.vcenter, self.request)


@pytest.fixture
def cloudtemple(lab, spp):
    """A client of the lab's Cloud Temple console emulator with a fresh token, on a reset console and a reset SPP
    emulator (the ``spp`` fixture); the console fronts that SPP emulator and the lab's vCenter."""
    api = ConsoleApi(lab.env)
    api.admin("POST", "/reset")
    api.login()
    return api


@pytest.fixture(params=PROFILES)
def bed(request):
    """Each profile in turn, for the points that hold in both (spp-api.md 14)."""
    running = request.getfixturevalue("lab" if request.param == "default" else "public_lab")
    vcenter = request.getfixturevalue("vcenter" if request.param == "default" else "public_vcenter")
    return Bed(request.param, reset_client(running), vcenter, request)
