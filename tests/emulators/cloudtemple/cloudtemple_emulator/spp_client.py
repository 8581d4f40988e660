"""The console's own client of SPP's REST API (the SPP emulator in the lab), as spp-api.md describes it.

The console keeps no copy of what SPP can tell: policies, assignments, jobs, sessions, sites and SPP's view of VMs
are read from SPP on each request. One SPP login session is shared by all threads (each thread has its own HTTP
connection); an SPP answer of 401 (the session expired) logs in again once.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Iterable
from urllib.parse import urlsplit

import requests

PAGE_SIZE = 10000  # the SPP emulator's largest page (spp-api.md 14.12)
FEW_VMS = 50  # up to this many VMs are read with a filter (a query line well under http.server's 64 KiB)
SESSION_HEADER = "X-Endeavour-Sessionid"
TIMEOUT_SECONDS = 120


class SppCallFailed(Exception):
    """SPP answered an error, or could not be reached: the status (0 when unreachable) and SPP's description."""

    def __init__(self, status: int, description: str):
        super().__init__(f"SPP answered {status}: {description}" if status else f"SPP is unreachable: {description}")
        self.status = status
        self.description = description


class SppClient:
    def __init__(self, url: str, username: str, password: str, ca_file: str | None = None, insecure: bool = False):
        self.url = url.rstrip("/")
        self.username = username
        self._password = password
        self._verify: str | bool = False if insecure else (ca_file or True)
        self._local = threading.local()
        self._login_lock = threading.Lock()
        self._session_id: str | None = None
        self._hypervisor: dict | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or self.url

    def _http(self) -> requests.Session:
        http = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = requests.Session()
            http.trust_env = False  # REQUESTS_CA_BUNDLE would replace the CA we were given
        return http

    def _login(self, stale: str | None) -> str:
        with self._login_lock:
            if self._session_id and self._session_id != stale:
                return self._session_id  # another thread logged in meanwhile
            answer = self._send("POST", "/api/endeavour/session", None, auth=(self.username, self._password))
            self._session_id = answer.json()["sessionid"]
            return self._session_id

    def _send(self, method: str, path: str, session_id: str | None, **kwargs) -> requests.Response:
        url = path if path.startswith("http") else self.url + path
        headers = {SESSION_HEADER: session_id} if session_id else {}
        try:
            response = self._http().request(
                method, url, headers=headers, verify=self._verify, timeout=TIMEOUT_SECONDS, **kwargs
            )
        except requests.RequestException as error:
            raise SppCallFailed(0, type(error).__name__) from error
        if response.status_code >= 400 and not (response.status_code == 401 and session_id):
            raise SppCallFailed(response.status_code, _description(response))
        return response

    def call(self, method: str, path: str, **kwargs) -> Any:
        """The JSON answer of an authenticated call (None when empty)."""
        session_id = self._session_id or self._login(None)
        response = self._send(method, path, session_id, **kwargs)
        if response.status_code == 401:
            response = self._send(method, path, self._login(session_id), **kwargs)
            if response.status_code == 401:
                raise SppCallFailed(401, _description(response))
        return response.json() if response.content else None

    def listing(self, path: str, key: str, **params: str) -> list[dict]:
        """Every item of a paged SPP listing (following links.nextPage)."""
        page = self.call("GET", path, params={"pageSize": str(PAGE_SIZE), **params})
        items = list(page.get(key) or [])
        while (page.get("links") or {}).get("nextPage"):
            page = self.call("GET", page["links"]["nextPage"]["href"])
            items.extend(page.get(key) or [])
        return items

    # --- what the console reads ----------------------------------------------------------------------------------

    def hypervisor(self) -> dict:
        """The registered vCenter (the first hypervisor); it does not change while the emulators run."""
        if self._hypervisor is None:
            self._hypervisor = self.listing("/api/hypervisor", "hypervisors")[0]
        return self._hypervisor

    def slas(self) -> list[dict]:
        return self.listing("/api/spec/storageprofile", "storageprofiles")

    def jobs(self) -> list[dict]:
        return self.listing("/api/endeavour/job", "jobs")

    def sessions(self) -> list[dict]:
        return self.listing("/api/endeavour/jobsession", "sessions")

    def sites(self) -> list[dict]:
        return self.listing("/api/site", "sites")

    def vms_by_uuid(self, instance_uuids: Iterable[str]) -> dict[str, dict]:
        """SPP's VM objects (its live inventory, from=hlo) of these vCenter instance UUIDs, by instance UUID; a VM
        SPP has not inventoried is absent. A few VMs are read with an IN filter; more with the whole listing, as one
        pass over it beats SPP's IN filter (which compares each VM with each value)."""
        wanted = list(dict.fromkeys(instance_uuids))
        path = f"/api/hypervisor/{self.hypervisor()['id']}/vm"
        params = {"from": "hlo"}
        if len(wanted) <= FEW_VMS:
            params["filter"] = json.dumps([{"property": "config.instanceUuid", "value": wanted, "op": "IN"}])
        every = {vm["config"]["instanceUuid"]: vm for vm in self.listing(path, "vms", **params)}
        return {key: every[key] for key in wanted if key in every}

    def vdisks(self, vm: dict) -> list[dict]:
        return self.listing(vm["links"]["vdisks"]["href"], "vdisks")

    def apply_policies(self, resources: list[dict], slas: list[dict]) -> Any:
        """applySLAPolicies: each resource ends with exactly these SLAs (spp-api.md 4; replace semantics)."""
        body = {
            "subtype": "vmware",
            "version": "1.0",
            "resources": [
                {"href": item["links"]["self"]["href"], "id": item["id"], "metadataPath": item.get("metadataPath")}
                for item in resources
            ],
            "slapolicies": [
                {"href": sla["links"]["self"]["href"], "id": sla["id"], "name": sla["name"]} for sla in slas
            ],
        }
        return self.call("POST", "/ngp/hypervisor", params={"action": "applySLAPolicies"}, json=body)

    def start_job(self, job: dict) -> Any:
        """Start a job as IBM's JobAPI.run does: the first workflow of links.start.schema (spp-api.md 5.2)."""
        start = job["links"]["start"]
        workflows = self.call("GET", start["schema"])["parameter"]["actionname"]["values"]
        return self.call("POST", start["href"], json={"actionname": workflows[0]["value"]})


def _description(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason
    if isinstance(body, dict) and isinstance(body.get("response"), dict):
        body = body["response"]  # the ngp envelope (spp-api.md 14.1)
    if isinstance(body, dict) and body.get("description"):
        return str(body["description"])
    return response.text[:200]
