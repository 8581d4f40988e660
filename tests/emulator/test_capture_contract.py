# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator against answers captured from a real SPP with tests/capture/spp_capture.py: key sets, call by call.

For every call of a capture (``SPP_CAPTURE_DIR``, else the newest directory under tests/capture/fixtures/), the
emulator is asked the same question: the same capture code runs against a lab whose emulator holds a backed-up VM, a
held job (where the profile has hold links) and an active test restore, and each answer is compared with the
captured one by its key set (recursively for dicts; for a list, the union of the keys of its dict items). Keys that
the real server has and the emulator lacks fail. Keys only the emulator has are "invented": they fail under the
public-record profile and are notes under the default profile. Without a capture, those tests are skipped.

The capture kit itself is proven here too: spp_capture.py runs against the lab (each profile) into a temporary
directory, must leave no secret in its files, and its capture must match the same emulator. Two more tests compare the
profiles with each other, which shows that the comparison does find invented and missing keys.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from lab import Lab  # tests/conftest.py puts tests/lab on sys.path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAPTURE_KIT = os.path.join(ROOT, "tests", "capture")
FIXTURES = os.path.join(CAPTURE_KIT, "fixtures")
if CAPTURE_KIT not in sys.path:
    sys.path.insert(0, CAPTURE_KIT)

import spp_capture  # noqa: E402  pylint: disable=wrong-import-position

DEFAULT, PUBLIC_RECORD = "default", "public-record"
PROFILES = (DEFAULT, PUBLIC_RECORD)
SPEED = 0.05
WAIT_SECONDS = 60
# Keys that depend on how much data a server holds, not on its API: a listing has a next page only when it is full.
DATA_DEPENDENT = re.compile(r"(^|\.)links\.(nextPage|prevPage)(\.|\[|$)")
# A dict key that is data (an href, an id, a placeholder), not a field name: maps keyed by hrefs compare as one key.
DATA_KEY = re.compile(r"^(<.*>|\d+|[0-9a-fA-F]{16,}|[0-9a-fA-F-]{36})$|://")
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


# ---------------------------------------------------------------------------------------------------------------
# Key sets and their comparison (pure)


def key_paths(value: Any, prefix: str = "") -> tuple[set[str], set[str]]:
    """(paths of every key, paths whose value is null or an empty list: nothing below them can be compared).

    Lists contribute the union of the keys of their dict items, under ``<path>[]``.
    """
    keys: set[str] = set()
    open_paths: set[str] = set()
    if isinstance(value, dict):
        for key, child in value.items():
            name = "*" if DATA_KEY.search(str(key)) else str(key)
            path = f"{prefix}.{name}" if prefix else name
            keys.add(path)
            child_keys, child_open = key_paths(child, path)
            keys |= child_keys
            open_paths |= child_open
            if child is None or child == []:
                open_paths.add(path)
    elif isinstance(value, list):
        items = [item for item in value if isinstance(item, (dict, list))]
        for item in items:
            child_keys, child_open = key_paths(item, prefix + "[]")
            keys |= child_keys
            open_paths |= child_open
    return keys, open_paths


def _below(path: str, roots: set[str]) -> bool:
    return any(path.startswith(root + ".") or path.startswith(root + "[]") for root in roots)


@dataclass
class Finding:
    call: str
    kind: str  # missing, invented, missing-route, invented-route, not-compared
    detail: str

    def __str__(self) -> str:
        return f"{self.call}: {self.kind}: {self.detail}"


def _ok(status) -> bool:
    return isinstance(status, int) and 200 <= status < 300


def compare_call(call: str, real: dict, emulated: dict | None, emulated_absent: str | None = None) -> list[Finding]:
    """What differs between the real server's answer to one call and the emulator's."""
    if emulated is None:
        if _ok(real.get("status")):
            reason = emulated_absent or "the emulator capture made no such call"
            return [Finding(call, "not-compared", reason)]
        return []
    real_status, emulated_status = real.get("status"), emulated.get("status")
    if _ok(real_status) and not _ok(emulated_status):
        return [Finding(call, "missing-route", f"the real server answered {real_status}, the emulator {emulated_status}"
                                               f" ({emulated.get('path')})")]
    if not _ok(real_status):
        if _ok(emulated_status):
            return [Finding(call, "invented-route", f"the real server answered {real_status}, the emulator "
                                                    f"{emulated_status} ({real.get('path')})")]
        return []
    real_keys, real_open = key_paths(real.get("answer"))
    emulated_keys, emulated_open = key_paths(emulated.get("answer"))
    findings = []
    for path in sorted(real_keys - emulated_keys):
        if not DATA_DEPENDENT.search(path) and not _below(path, emulated_open):
            findings.append(Finding(call, "missing", path))
    for path in sorted(emulated_keys - real_keys):
        if not DATA_DEPENDENT.search(path) and not _below(path, real_open):
            findings.append(Finding(call, "invented", path))
    return _collapse(findings)


def _collapse(findings: list[Finding]) -> list[Finding]:
    """One finding per missing or invented subtree: ``a.b`` covers ``a.b.c``."""
    kept: list[Finding] = []
    for finding in findings:
        if not any(k.kind == finding.kind and (finding.detail.startswith(k.detail + ".")
                                               or finding.detail.startswith(k.detail + "[]")) for k in kept):
            kept.append(finding)
    return kept


def failures(findings: list[Finding], profile: str) -> list[Finding]:
    """Missing keys and routes always fail; invented ones fail under the public-record profile only."""
    failing = {"missing", "missing-route"} | ({"invented", "invented-route"} if profile == PUBLIC_RECORD else set())
    return [finding for finding in findings if finding.kind in failing]


@dataclass
class CaptureSet:
    """The fixtures of one capture directory, by call name, and the calls it could not make."""

    directory: str
    index: dict
    fixtures: dict[str, dict] = field(default_factory=dict)
    absent: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: str) -> CaptureSet:
        with open(os.path.join(directory, "index.json"), encoding="utf-8") as handle:
            index = json.load(handle)
        loaded = cls(directory, index)
        for entry in index.get("calls", []):
            with open(os.path.join(directory, entry["file"]), encoding="utf-8") as handle:
                loaded.fixtures[entry["call"]] = json.load(handle)
        loaded.absent = {entry["call"]: entry["reason"] for entry in index.get("absent", [])}
        return loaded


def compare_captures(real: CaptureSet, emulated: CaptureSet) -> list[Finding]:
    findings: list[Finding] = []
    for call, fixture in real.fixtures.items():
        findings += compare_call(call, fixture, emulated.fixtures.get(call), emulated.absent.get(call))
    return findings


def find_capture_dir() -> str | None:
    """``SPP_CAPTURE_DIR``, else the newest capture under tests/capture/fixtures/ (names are dates); None if none."""
    explicit = os.environ.get("SPP_CAPTURE_DIR")
    if explicit:
        return explicit
    if not os.path.isdir(FIXTURES):
        return None
    found = sorted(name for name in os.listdir(FIXTURES) if os.path.isfile(os.path.join(FIXTURES, name, "index.json")))
    return os.path.join(FIXTURES, found[-1]) if found else None


# ---------------------------------------------------------------------------------------------------------------
# Labs, one per profile, prepared with plain REST calls


def _wait_for(condition, what: str, timeout: float = WAIT_SECONDS):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


class Rest:
    """Plain requests against the emulator, to prepare the state the capture reads."""

    def __init__(self, env: dict):
        self.url = env["SPP_URL"]
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = env["SPP_CA_PATH"]
        answer = self.http.post(f"{self.url}/api/endeavour/session", auth=(env["SPP_USERNAME"], env["SPP_PASSWORD"]),
                                timeout=30)
        assert answer.status_code == 200, answer.text
        self.http.headers["X-Endeavour-Sessionid"] = answer.json()["sessionid"]

    def call(self, method: str, path_or_href: str, expect=(200, 201, 204), **kwargs) -> Any:
        url = path_or_href if "://" in path_or_href else self.url + path_or_href
        response = self.http.request(method, url, timeout=60, **kwargs)
        assert response.status_code in expect, f"{method} {path_or_href}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def sessions(self, **criteria) -> list[dict]:
        query = json.dumps([{"property": k, "value": v, "op": "="} for k, v in criteria.items()])
        return self.call("GET", "/api/endeavour/jobsession", params={"filter": query, "pageSize": 1000})["sessions"]


def _ref(obj: dict, *keys: str) -> dict:
    ref = {"href": obj["links"]["self"]["href"], "id": obj["id"]}
    ref.update({key: obj.get(key) for key in keys})
    return ref


def prepare(env: dict) -> None:
    """A backed-up VM (Gold), a second VM under Silver whose job is held when the profile offers hold links, and an
    active test restore of the first VM."""
    rest = Rest(env)
    hypervisor = rest.call("GET", "/api/hypervisor")["hypervisors"][0]["id"]
    vms = sorted(rest.call("GET", f"/api/hypervisor/{hypervisor}/vm", params={"from": "hlo"})["vms"],
                 key=lambda vm: vm["name"])
    slas = {sla["name"]: sla for sla in rest.call("GET", "/ngp/slapolicy")["slapolicies"]}
    for vm, sla in ((vms[0], "Gold"), (vms[1], "Silver")):
        rest.call("POST", "/ngp/hypervisor", params={"action": "applySLAPolicies"}, json={
            "subtype": "vmware", "version": "1.0", "resources": [_ref(vm, "metadataPath")],
            "slapolicies": [_ref(slas[sla], "name")]})
    rest.call("POST", "/ngp/hypervisor", params={"action": "adhoc"}, json={
        "slaPolicyName": "Gold", "subtype": "vmware", "resource": [vms[0]["links"]["self"]["href"]]})
    _wait_for(lambda: any(s["status"] in ("COMPLETED", "PARTIAL") for s in rest.sessions(jobName="vmware_Gold")),
              "the backup of vmware_Gold")
    jobs = {job["name"]: job for job in rest.call("GET", "/api/endeavour/job")["jobs"]}
    hold = jobs["vmware_Silver"]["links"].get("hold")
    if hold:
        params = None if "action=" in hold["href"] else {"action": "hold", "actionname": "hold"}
        rest.call("POST", hold["href"], params=params, json={})

    source = next(vm for vm in rest.call("GET", f"/api/hypervisor/{hypervisor}/vm", params={"from": "recovery"})["vms"]
                  if vm["id"] == vms[0]["id"])
    answer = rest.call("POST", "/ngp/hypervisor", params={"action": "restore"}, json={
        "subType": "vmware",
        "spec": {
            "source": [{
                "href": source["links"]["self"]["href"], "id": source["id"], "resourceType": "vm", "include": True,
                "metadata": {"name": source["name"]},
                "version": {"href": source["links"]["latestversion"]["href"],
                            "metadata": {"useLatest": True, "name": "Use Latest"}}}],
            "subpolicy": [{
                "type": "IV", "destination": {"systemDefined": True}, "source": None,
                "option": {"mode": "test", "poweron": False, "allowvmoverwrite": False, "continueonerror": True,
                           "autocleanup": True, "allowsessoverwrite": True, "protocolpriority": "iSCSI",
                           "vmscripts": False, "restorevmtag": True, "update_vmx": True, "streaming": False,
                           "IR": False}}]},
        "script": {"preGuest": None, "postGuest": None, "continueScriptsOnError": False}})
    restore_name = answer["response"]["name"]

    def restore_is_active():
        found = rest.sessions(jobName=restore_name)
        return any(s["status"] in ("PENDING", "RESOURCE ACTIVE") and spp_capture.action_links(s) for s in found)

    _wait_for(restore_is_active, f"the test restore {restore_name} to become active")


@dataclass
class RunningLab:
    profile: str
    lab: Lab
    captures: dict = field(default_factory=dict)

    @property
    def env(self) -> dict:
        return self.lab.env

    def emulator_capture(self, directory: str, page_size: int = 10, with_search: bool = True) -> CaptureSet:
        """The emulator's answers to the calls of the capture kit, made in-process, redacted like a real capture."""
        key = (page_size, with_search)
        if key not in self.captures:
            http = spp_capture.Http(self.env["SPP_URL"], self.env["SPP_USERNAME"], self.env["SPP_PASSWORD"],
                                    verify=self.env["SPP_CA_PATH"])
            http.http.trust_env = False
            capture = spp_capture.Capture(http, page_size=page_size, with_search=with_search, out=lambda line: None)
            assert capture.run(), "the capture could not log in to the emulator"
            redactor = spp_capture.Redactor(http.base_url, self.env["SPP_USERNAME"], secrets=(self.env["SPP_PASSWORD"],))
            capture.write(directory, redactor)
            self.captures[key] = CaptureSet.load(directory)
        return self.captures[key]


class Labs:
    """Starts one prepared lab per profile on first use; stops them all at the end of the module."""

    def __init__(self, factory):
        self.factory = factory
        self.running: dict[str, RunningLab] = {}

    def __getitem__(self, profile: str) -> RunningLab:
        if profile not in self.running:
            lab = Lab(str(self.factory.mktemp(f"lab-{profile}")), datacenters=1, clusters=1, cluster_hosts=1, hosts=1,
                      vms=2, speed=SPEED, profile=profile)
            lab.start()
            self.running[profile] = RunningLab(profile, lab)
            self._check_profile(self.running[profile])
            prepare(lab.env)
        return self.running[profile]

    @staticmethod
    def _check_profile(running: RunningLab) -> None:
        """The hypervisor-wide /network listing exists only under the default profile (spp-api.md 14.17)."""
        rest = Rest(running.env)
        status = rest.http.get(f"{rest.url}/api/hypervisor/1001/network", timeout=30).status_code
        assert status == (200 if running.profile == DEFAULT else 404), \
            f"the lab's emulator does not run the {running.profile} profile (GET .../network answered {status})"

    def stop(self) -> None:
        for running in self.running.values():
            running.lab.stop()


def running_jobs(running: RunningLab) -> list[dict]:
    return Rest(running.env).call("GET", "/api/endeavour/job", params={"pageSize": 1000})["jobs"]


@pytest.fixture(scope="module")
def labs(tmp_path_factory):
    started = Labs(tmp_path_factory)
    yield started
    started.stop()


def _report(findings: list[Finding], profile: str) -> None:
    for finding in findings:
        print(f"[{profile}] {'FAIL' if finding in failures(findings, profile) else 'note'} {finding}")


# ---------------------------------------------------------------------------------------------------------------
# Redaction (no lab)


def test_redaction_replaces_hosts_users_secrets_and_names_consistently():
    redactor = spp_capture.Redactor("https://spp01.corp.example.com", "jdoe", secrets=("S3cret-Passw0rd",))
    vm_id = "4f0c8182d0507f2f4a3ffe374bc40a32"
    answers = [
        {"sessionid": "43b3b1b2cc434f4eb1b9df8c99e7866f", "user": {"name": "jdoe", "type": "NATIVE_USER"}},
        {"vms": [{"id": vm_id, "name": "payroll-db", "resourceType": "vm", "hypervisorHostname": "esx07.corp.example.com",
                  "config": {"instanceUuid": "5003b5b1-2c2e-4b6c-9a0f-0123456789ab"}, "storageProfiles": ["Gold"],
                  "links": {"self": {"href": f"https://spp01.corp.example.com/api/hypervisor/1001/vm/{vm_id}?from=hlo"}}}]},
        {"message": "Backup of payroll-db on 10.1.2.3 by jdoe took 3 s at 12:30:45", "type": "INFO",
         "serviceId": "serviceprovider.protection.hypervisor", "version": "10.1.17.1", "mode": "test"},
    ]
    for answer in answers:
        redactor.learn_from(answer)
    login, listing, log = (redactor.redact(answer) for answer in answers)
    vm = listing["vms"][0]
    text = json.dumps([login, listing, log])

    for secret in ("spp01", "example.com", "jdoe", "payroll-db", "10.1.2.3", "43b3b1b2cc434f4eb1b9df8c99e7866f", vm_id,
                   "5003b5b1"):
        assert secret not in text
    assert vm["links"]["self"]["href"] == f"https://<spp-host>/api/hypervisor/1001/vm/{vm['id']}?from=hlo"
    assert login["user"]["name"].startswith("<user-") and login["sessionid"].startswith("<secret-")
    assert log["message"] == f"Backup of {vm['name']} on <ip-1> by {login['user']['name']} took 3 s at 12:30:45"
    assert (log["serviceId"], log["version"], log["mode"], vm["storageProfiles"]) == (
        "serviceprovider.protection.hypervisor", "10.1.17.1", "test", ["Gold"])
    assert redactor.redact_href(f"/api/hypervisor/1001/vm/{vm_id}/version?from=recovery") == \
        f"/api/hypervisor/1001/vm/{vm['id']}/version?from=recovery"


def test_key_sets_compare_dicts_recursively_and_lists_by_the_union_of_their_items():
    real = {"status": 200, "answer": {"total": 0, "links": {"self": {}}, "vms": [
        {"id": "1", "protectionInfo": {}, "cluster": None}, {"id": "2", "recoveryInfo": {"a": 1}}]}}
    emulated = {"status": 200, "answer": {"total": 2, "links": {"self": {}, "nextPage": {"href": "x"}}, "vms": [
        {"id": "1", "protectionInfo": {"protectionTime": 1}, "cluster": {"name": "c"}}]}}
    findings = compare_call("vms_hlo", real, emulated)
    assert [str(f) for f in findings] == [
        "vms_hlo: missing: vms[].recoveryInfo",
        "vms_hlo: invented: vms[].protectionInfo.protectionTime",
    ]  # nextPage depends on the data; keys under a null cluster cannot be compared
    assert failures(findings, DEFAULT) == findings[:1] and failures(findings, PUBLIC_RECORD) == findings
    assert [f.kind for f in compare_call("networks", {"status": 404}, {"status": 200, "answer": {}})] == \
        ["invented-route"]
    assert [f.kind for f in compare_call("vm", {"status": 200}, None, "no VM")] == ["not-compared"]


def test_the_newest_capture_is_found_unless_one_is_named(tmp_path, monkeypatch):
    module = sys.modules[__name__]
    monkeypatch.delenv("SPP_CAPTURE_DIR", raising=False)
    monkeypatch.setattr(module, "FIXTURES", str(tmp_path))
    assert find_capture_dir() is None
    for name in ("2026-01-02", "2026-03-04", "2026-03-04-101500", "notes"):
        (tmp_path / name).mkdir()
        if name != "notes":
            (tmp_path / name / "index.json").write_text("{}")
    assert find_capture_dir() == str(tmp_path / "2026-03-04-101500")
    monkeypatch.setenv("SPP_CAPTURE_DIR", "/elsewhere")
    assert find_capture_dir() == "/elsewhere"


def test_the_kit_refuses_to_write_and_a_dry_run_sends_nothing():
    http = spp_capture.Http("https://spp.invalid", "reader", "secret")
    for method, path in (("POST", "/ngp/hypervisor?action=adhoc"), ("PUT", "/ngp/slapolicy/2000"),
                         ("DELETE", "/ngp/slapolicy/2000"), ("POST", "/api/endeavour/job/1005?action=start"),
                         ("POST", "/api/hypervisor/search")):
        with pytest.raises(spp_capture.ReadOnlyError):
            http.send(method, path)
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPP_")}
    result = subprocess.run([sys.executable, os.path.join(CAPTURE_KIT, "spp_capture.py"), "--dry-run", "--with-search"],
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert all(f"  {name} " in result.stdout for name in spp_capture.PLAN_NAMES) and "Nothing is sent" in result.stdout


# ---------------------------------------------------------------------------------------------------------------
# The capture kit against the lab


@pytest.mark.parametrize("profile, page_size", [(DEFAULT, 10), (PUBLIC_RECORD, 3)])  # 3: the jobs span pages
def test_capture_kit_runs_against_the_lab_and_matches_its_emulator(labs, profile, page_size, tmp_path):
    running = labs[profile]
    env = {key: value for key, value in os.environ.items() if key not in PROXY_VARIABLES}
    env.update({key: running.env[key] for key in ("SPP_URL", "SPP_USERNAME", "SPP_PASSWORD", "SPP_CA_PATH")},
               SPP_VALIDATE_CERTS="true")
    out = tmp_path / "capture"
    result = subprocess.run([sys.executable, os.path.join(CAPTURE_KIT, "spp_capture.py"), "--out", str(out),
                             "--with-search", "--page-size", str(page_size)],
                            env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    captured = CaptureSet.load(str(out))

    recorded = set(captured.fixtures)
    assert recorded | set(captured.absent) == set(spp_capture.PLAN_NAMES)
    assert {"login", "vms_hlo", "vm_versions", "version_copies", "site", "sites", "job", "job_start_schema",
            "jobsessions", "jobsession", "jobsession_logs", "test_restore_session", "logout"} <= recorded
    assert ("job_held" in recorded) == (profile == DEFAULT)  # no hold link on record: nothing can be held
    assert all(fixture["method"] in ("GET", "DELETE") or fixture["call"] in ("login", "search_vm", "search_vdisk")
               for fixture in captured.fixtures.values())
    assert captured.fixtures["logout"]["status"] == 204
    assert (captured.index["unrecorded_reads"] > 0) == (page_size < len(running_jobs(running)))
    assert spp_capture.action_links(captured.fixtures["test_restore_session"]["answer"])

    text = "\n".join(open(os.path.join(out, name), encoding="utf-8").read() for name in os.listdir(out))
    state = requests.get(running.env["SPP_EMULATOR_ADMIN"] + "/state", verify=running.env["SPP_CA_PATH"],
                         timeout=30).json()
    assert running.env["SPP_PASSWORD"] not in text and "127.0.0.1" not in text
    assert not re.search(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", text), "a session id or object id was not redacted"
    for vm in state["vms"].values():
        assert not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(vm["name"]), text), f"VM name {vm['name']} leaked"
    assert captured.fixtures["login"]["answer"]["user"]["name"].startswith("<user-")

    findings = compare_captures(captured, running.emulator_capture(str(tmp_path / "emulator"), page_size=page_size))
    _report(findings, profile)
    assert not findings, "\n".join(map(str, findings))


def test_the_comparison_flags_what_the_default_profile_invents(labs, tmp_path):
    """The public-record emulator stands in for a real server: what the default profile adds must show as invented,
    and, the other way round, as missing."""
    public = labs[PUBLIC_RECORD].emulator_capture(str(tmp_path / "public-record"))
    default = labs[DEFAULT].emulator_capture(str(tmp_path / "default"))

    invented = compare_captures(public, default)
    _report(invented, DEFAULT)
    flagged = {(f.call, f.kind, f.detail) for f in invented}
    assert {
        ("networks", "invented-route"),
        ("search_vdisk", "invented-route"),
    } <= {(call, kind) for call, kind, _detail in flagged}
    assert ("job", "invented", "links.hold") in flagged
    assert ("vm_versions", "invented", "versions[].copies[].links.site") in flagged

    missing = compare_captures(default, public)
    _report(missing, PUBLIC_RECORD)
    assert ("job", "missing", "links.hold") in {(f.call, f.kind, f.detail) for f in missing}
    assert ("networks", "missing-route") in {(f.call, f.kind) for f in missing}


# ---------------------------------------------------------------------------------------------------------------
# A real capture against the emulator


def _real_capture() -> tuple[CaptureSet | None, str | None]:
    directory = find_capture_dir()
    if directory is None:
        return None, "no capture: run tests/capture/spp_capture.py against an SPP, or set SPP_CAPTURE_DIR"
    if not os.path.isfile(os.path.join(directory, "index.json")):
        return None, f"SPP_CAPTURE_DIR={directory} holds no index.json"
    try:
        return CaptureSet.load(directory), None
    except (OSError, ValueError, KeyError) as error:
        return None, f"the capture in {directory} cannot be read: {error}"


REAL, REAL_PROBLEM = _real_capture()
REAL_CASES = [pytest.param(profile, call, id=f"{profile}-{call}")
              for profile in PROFILES for call in (REAL.fixtures if REAL else ())]


@pytest.mark.parametrize("profile, call", REAL_CASES or [pytest.param(None, None, id="no-capture")])
def test_captured_answer_has_the_emulators_key_set(labs, profile, call, tmp_path_factory):
    if REAL is None:
        if os.environ.get("SPP_CAPTURE_DIR") or REAL_PROBLEM.startswith("the capture in"):
            pytest.fail(REAL_PROBLEM)
        pytest.skip(REAL_PROBLEM)
    options = REAL.index.get("options", {})
    running = labs[profile]
    emulated = running.emulator_capture(str(tmp_path_factory.mktemp(f"emulator-{profile}")),
                                        page_size=int(options.get("page_size", 10)),
                                        with_search=bool(options.get("with_search", False)))
    findings = compare_call(call, REAL.fixtures[call], emulated.fixtures.get(call), emulated.absent.get(call))
    _report(findings, profile)
    failing = failures(findings, profile)
    assert not failing, "the emulator (%s profile) differs from the capture in %s:\n%s" % (
        profile, REAL.directory, "\n".join(map(str, failing)))
