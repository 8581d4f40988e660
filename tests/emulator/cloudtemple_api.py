# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bare HTTP client of the Cloud Temple console emulator, for its contract tests: plain ``requests``, what a
client sees, nothing interpreted (not the collection's client)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import requests

WAIT_SECONDS = 30
TERMINAL = ("completed", "failed")


def state_key(activity: dict) -> str:
    """The one key of an activity's state (docs/cloudtemple-api.md 5.3)."""
    (key,) = activity["state"]
    return key


def jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def policy_id(sla_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"spp-sla/{sla_id}"))


def job_id(spp_job_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"spp-job/{spp_job_id}"))


def disk_id(vm_id: str, key: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{vm_id}/disk/{key}"))


def lab_session(ca_path: str) -> requests.Session:
    """A requests session that trusts the lab CA only (REQUESTS_CA_BUNDLE would otherwise replace it)."""
    http = requests.Session()
    http.trust_env, http.verify = False, ca_path
    return http


class ConsoleApi:
    """The console's routes as the lab's env names them (CLOUDTEMPLE_*), with a bearer token once logged in."""

    def __init__(self, env: dict):
        self.http = lab_session(env["CLOUDTEMPLE_CA_PATH"])
        self.url, self.admin_url = env["CLOUDTEMPLE_URL"], env["CLOUDTEMPLE_EMULATOR_ADMIN"]
        self.client_id, self.secret = env["CLOUDTEMPLE_CLIENT_ID"], env["CLOUDTEMPLE_SECRET_ID"]
        self.token: str | None = None

    def exchange(self, client_id: str | None = None, secret: str | None = None) -> requests.Response:
        body = {"id": client_id or self.client_id, "secret": self.secret if secret is None else secret}
        return self.http.post(f"{self.url}/api/iam/v2/auth/personal_access_token", json=body, timeout=30)

    def login(self) -> str:
        response = self.exchange()
        assert response.status_code == 200, response.text
        self.token = response.text
        return self.token

    def raw(self, method: str, path: str, token: str | None = "current", **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        bearer = self.token if token == "current" else token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return self.http.request(method, self.url + path, headers=headers, timeout=60, **kwargs)

    def call(self, method: str, path: str, expect: int = 200, **kwargs) -> Any:
        response = self.raw(method, path, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def get(self, path: str, expect: int = 200, **params) -> Any:
        return self.call("GET", path, expect=expect, params=params or None)

    def admin(self, method: str, path: str, body: dict | None = None) -> Any:
        response = self.http.request(method, self.admin_url + path, json=body, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()

    # --- writes and activities -----------------------------------------------------------------------------------

    def write(self, method: str, path: str, body: dict) -> str:
        """A write: 201 and the bare activity id in Location (5.1)."""
        response = self.raw(method, path, json=body)
        assert response.status_code == 201, f"{method} {path}: {response.status_code} {response.text}"
        activity_id = response.headers["Location"]
        assert str(uuid.UUID(activity_id)) == activity_id  # a bare UUID, not a URL
        return activity_id

    def activity(self, activity_id: str) -> dict:
        return self.get(f"/api/activity/v1/activities/{activity_id}")

    def wait(self, activity_id: str, timeout: float = WAIT_SECONDS) -> dict:
        """The activity once completed or failed; every state seen on the way is checked to have one key."""
        deadline = time.monotonic() + timeout
        while True:
            activity = self.activity(activity_id)
            if state_key(activity) in TERMINAL:
                return activity
            assert time.monotonic() < deadline, f"activity {activity_id} still {activity['state']}"
            time.sleep(0.02)

    def assign_vms(self, vm_ids: list[str], policy_ids: list[str]) -> dict:
        activity_id = self.write("POST", "/api/backup/v1/spp/policies/assign/virtual_machine",
                                 {"virtualMachineIds": vm_ids, "slaPolicies": policy_ids})
        return self.wait(activity_id)

    def assign_disk(self, disk: str, policy_ids: list[str]) -> dict:
        activity_id = self.write("POST", "/api/backup/v1/spp/policies/assign/virtual_disk",
                                 {"virtualDiskId": disk, "slaPolicies": policy_ids})
        return self.wait(activity_id)

    def power(self, vm_id: str, action: str, expect: int = 201) -> requests.Response:
        response = self.raw("PATCH", "/api/compute/v1/vcenters/virtual_machines/power",
                            json={"id": vm_id, "powerAction": action})
        assert response.status_code == expect, response.text
        return response

    def run_job(self, console_job_id: str) -> dict:
        return self.wait(self.write("POST", "/api/backup/v1/spp/jobs/run", {"jobId": console_job_id}))

    # --- reads -----------------------------------------------------------------------------------------------------

    def policy(self, name: str) -> dict:
        return next(item for item in self.get("/api/backup/v1/spp/policies") if item["name"] == name)

    def policy_names(self, vm_id: str) -> list[str]:
        return sorted(item["name"] for item in self.get("/api/backup/v1/spp/policies", virtualMachineId=vm_id))

    def job(self, name: str) -> dict:
        return next(item for item in self.get("/api/backup/v1/spp/jobs") if item["name"] == name)

    def inventory(self) -> None:
        """Run the Hypervisor Inventory catalog job and wait until SPP's job is idle again (10.4)."""
        catalog = next(job for job in self.get("/api/backup/v1/spp/jobs", type="catalog")
                       if job["name"] == "Hypervisor Inventory")
        assert state_key(self.run_job(catalog["id"])) == "completed"
        deadline = time.monotonic() + WAIT_SECONDS
        while self.get(f"/api/backup/v1/spp/jobs/{catalog['id']}")["status"] != "IDLE":
            assert time.monotonic() < deadline, "the inventory job did not end"
            time.sleep(0.02)
