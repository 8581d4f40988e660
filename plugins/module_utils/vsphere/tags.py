# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vSphere tags, read through vCenter's tagging REST API (``/rest/com/vmware/cis/tagging``).

Considered private: only this collection may import it. One call lists tag ids, one per tag reads its name (tags
are few), and one bulk call returns the objects attached to the wanted tags: no per-VM call.
"""

from __future__ import annotations

import traceback

try:
    import requests
except ImportError:
    requests = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    ApiError,
    AuthenticationError,
    ConnectionFailure,
    InvalidRequest,
    MissingLibraryError,
)

REST = "/rest/com/vmware/cis"
SESSION_HEADER = "vmware-api-session-id"


class TaggingSession:
    """A short-lived REST session next to the SOAP one, with the same credentials and TLS settings."""

    def __init__(self, vsphere_client, timeout=60):
        if not HAS_REQUESTS:
            raise MissingLibraryError("the Python library 'requests' is required for vSphere tags",
                                      exception=REQUESTS_IMPORT_ERROR)
        self.base = vsphere_client.origin + REST
        self.http = requests.Session()
        # Per request, not on the session: requests lets REQUESTS_CA_BUNDLE override Session.verify.
        self.verify = (vsphere_client.ca_path or True) if vsphere_client.validate_certs else False
        self.timeout = timeout
        username, password = vsphere_client.credentials()
        answer = self._send("POST", "/session", auth=(username or "", password or ""))
        self.http.headers[SESSION_HEADER] = answer["value"]

    def _send(self, method, path, **kwargs):
        url = self.base + path
        try:
            response = self.http.request(method, url, timeout=self.timeout, verify=self.verify, **kwargs)
        except requests.exceptions.SSLError as error:
            raise ConnectionFailure("TLS verification failed for %s: %s. Set vcenter_ca_path or "
                                    "vcenter_validate_certs" % (self.base, error)) from None
        except requests.exceptions.RequestException as error:
            raise ConnectionFailure("could not reach the vCenter tagging API at %s: %s" % (self.base, error)) from None
        if response.status_code == 401:
            raise AuthenticationError("vCenter rejected the credentials for the tagging API")
        if response.status_code >= 400:
            raise ApiError(response.status_code, description=response.text[:500], method=method, url=url)
        return response.json() if response.content else None

    def close(self):
        try:
            self._send("DELETE", "/session")
        except (ApiError, ConnectionFailure, AuthenticationError):
            pass  # best effort: the session expires on its own
        self.http.close()

    def tag_ids_by_name(self):
        ids = self._send("GET", "/tagging/tag")["value"]
        return {self._send("GET", "/tagging/tag/id:%s" % tag_id)["value"]["name"]: tag_id for tag_id in ids}

    def attached_vms(self, tag_ids):
        """``{tag_id: {moref, ...}}`` for the given tags, VMs only, in one call."""
        answer = self._send("POST", "/tagging/tag-association", params={"~action": "list-attached-objects-on-tags"},
                            json={"tag_ids": list(tag_ids)})
        members = {}
        for entry in answer.get("value") or []:
            members[entry["tag_id"]] = {obj["id"] for obj in entry.get("object_ids") or []
                                        if obj.get("type") == "VirtualMachine"}
        return members


def members_of_tags(vsphere_client, tag_names):
    """``{tag name: {moref, ...}}``. Unknown tag names are an error that lists the existing tags."""
    session = TaggingSession(vsphere_client)
    try:
        ids = session.tag_ids_by_name()
        unknown = sorted(set(tag_names) - set(ids))
        if unknown:
            raise InvalidRequest("vCenter has no tag %s (tags: %s)" % (", ".join(unknown), ", ".join(sorted(ids)) or
                                                                       "none"))
        attached = session.attached_vms(ids[name] for name in tag_names)
        return {name: attached.get(ids[name], set()) for name in tag_names}
    finally:
        session.close()
