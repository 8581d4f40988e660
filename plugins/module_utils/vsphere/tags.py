# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vSphere tags, read through vCenter's tagging REST API (``/rest/com/vmware/cis/tagging``).

Considered private: only this collection may import it. One call lists tag ids, one per tag reads its name and
category (tags are few), one per category reads the names of the categories a selector needs, and one bulk call
returns the objects attached to the wanted tags: no per-VM call.

A tag name is unique within its category only, so a selector is a bare tag name, which must then be used by one
category, or ``category/tag``, which selects exactly. ``categories_to_name`` and ``select_tags`` are pure.
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
from ansible_collections.sovereign.vm_backup.plugins.module_utils._redact import redact

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
        # Kept out of every error message (``_redact``): the password, and the session token once there is one.
        self._secrets = [password]
        answer = self._send("POST", "/session", auth=(username or "", password or ""))
        self._secrets.append(answer["value"])
        self.http.headers[SESSION_HEADER] = answer["value"]

    def _send(self, method, path, **kwargs):
        url = self.base + path
        try:
            response = self.http.request(method, url, timeout=self.timeout, verify=self.verify, **kwargs)
        except requests.exceptions.SSLError as error:
            raise ConnectionFailure("TLS verification failed for %s: %s. Set vcenter_ca_path or "
                                    "vcenter_validate_certs" % (self.base, self._redact(error))) from None
        except requests.exceptions.RequestException as error:
            raise ConnectionFailure("could not reach the vCenter tagging API at %s: %s"
                                    % (self.base, self._redact(error))) from None
        if response.status_code == 401:
            raise AuthenticationError("vCenter rejected the credentials for the tagging API")
        if response.status_code >= 400:
            # Redacted before it is cut, so that no part of a secret is left at the cut.
            raise ApiError(response.status_code, description=self._redact(response.text)[:500], method=method,
                           url=url)
        return response.json() if response.content else None

    def _redact(self, text):
        return redact(text, getattr(self, "_secrets", ()))

    def close(self):
        try:
            self._send("DELETE", "/session")
        except (ApiError, ConnectionFailure, AuthenticationError):
            pass  # best effort: the session expires on its own
        self.http.close()

    def list_tags(self):
        """Every tag as ``{"id", "name", "category_id"}``: one call for the ids, then one per tag."""
        tags = []
        for tag_id in self._send("GET", "/tagging/tag")["value"]:
            tag = self._send("GET", "/tagging/tag/id:%s" % tag_id)["value"]
            tags.append({"id": tag_id, "name": tag["name"], "category_id": tag.get("category_id")})
        return tags

    def category_names(self, category_ids):
        """``{category id: name}`` of the given categories, one call each."""
        return {category_id: self._send("GET", "/tagging/category/id:%s" % category_id)["value"]["name"]
                for category_id in sorted(set(category_ids))}

    def attached_vms(self, tag_ids):
        """``{tag_id: {moref, ...}}`` for the given tags, VMs only, in one call."""
        answer = self._send("POST", "/tagging/tag-association", params={"~action": "list-attached-objects-on-tags"},
                            json={"tag_ids": list(tag_ids)})
        members = {}
        for entry in answer.get("value") or []:
            members[entry["tag_id"]] = {obj["id"] for obj in entry.get("object_ids") or []
                                        if obj.get("type") == "VirtualMachine"}
        return members


def _by_name(tags):
    named = {}
    for tag in tags:
        named.setdefault(tag["name"], []).append(tag)
    return named


def categories_to_name(selectors, tags):
    """Category ids whose names the selectors need: the categories of a bare name that several categories use (to
    list them), and those of every tag a ``category/tag`` selector may name. Pure."""
    by_name = _by_name(tags)
    needed = set()
    for selector in selectors:
        shared = by_name.get(selector, ())
        if len(shared) > 1:
            needed.update(tag["category_id"] for tag in shared)
        # A tag or category name may itself hold a "/": try every split.
        for position, char in enumerate(selector):
            if char == "/":
                needed.update(tag["category_id"] for tag in by_name.get(selector[position + 1:], ()))
    return needed


def qualified_name(tag, category_names):
    """``category/tag`` of a tag (the category id when its name was not read)."""
    return "%s/%s" % (category_names.get(tag["category_id"], tag["category_id"]), tag["name"])


def select_tags(selectors, tags, category_names):
    """``{selector: tag id}``. A selector is a tag name used by one category only, ``category/tag``, or a tag id. Pure.

    Unknown selectors and names that several categories use are one ``InvalidRequest`` that lists them all, each
    ambiguous name with its candidates as ``category/tag``.
    """
    chosen, unknown, ambiguous = {}, [], {}
    for selector in selectors:
        matches = [tag for tag in tags
                   if selector in (tag["name"], tag["id"]) or qualified_name(tag, category_names) == selector]
        if len(matches) == 1:
            chosen[selector] = matches[0]["id"]
        elif matches:
            names = [qualified_name(tag, category_names) for tag in matches]
            if len(set(names)) < len(names):  # a "/" in a category or tag name: only the tag id tells them apart
                names = ["%s (tag id %s)" % (name, tag["id"]) for name, tag in zip(names, matches)]
            ambiguous[selector] = sorted(names)
        else:
            unknown.append(selector)
    if not unknown and not ambiguous:
        return chosen
    problems, details = [], {}
    if unknown:
        unknown = sorted(set(unknown))
        problems.append("vCenter has no tag %s (tags: %s)" % (
            ", ".join(unknown), ", ".join(sorted({tag["name"] for tag in tags})) or "none"))
        details["unknown"] = unknown
    for selector in sorted(ambiguous):
        problems.append("the tag name %s is used in %d categories; select one as category/tag: %s"
                        % (selector, len(ambiguous[selector]), ", ".join(ambiguous[selector])))
    if ambiguous:
        details["candidates"] = ambiguous
    raise InvalidRequest("; ".join(problems), **details)


def members_of_tags(vsphere_client, tag_selectors):
    """``{selector: {moref, ...}}`` for tag selectors (``tag`` or ``category/tag``). An unknown or ambiguous selector
    is an error that lists the existing tags or the candidates; it is raised before any change."""
    session = TaggingSession(vsphere_client)
    try:
        tags = session.list_tags()
        needed = categories_to_name(tag_selectors, tags)
        chosen = select_tags(tag_selectors, tags, session.category_names(needed) if needed else {})
        attached = session.attached_vms(list(dict.fromkeys(chosen[selector] for selector in tag_selectors)))
        return {selector: attached.get(chosen[selector], set()) for selector in tag_selectors}
    finally:
        session.close()
