# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Restore of VMware VMs: the request of spp-api.md section 7.1, its sessions, and the test-restore actions (14.9).

Considered private: only this collection may import it. ``build_restore_payload`` and the session readers are pure;
the other functions take an ``SppClient`` first. A restore POST is never sent twice by the client: when its answer is
lost, ``AmbiguousResult`` says to look for the restore session before retrying (``services/restore_sessions.py`` does).
"""

from __future__ import annotations

import json

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import Conflict, InvalidRequest
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp.answers import (
    API_MODES,
    DEFAULT_SUFFIXES,
    RESTORE_SERVICE_IDS,
    is_restore_session,
    nested_get,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers

RESTORE_PATH = "/ngp/hypervisor"
TEST_ACTIONS = ("cleanup", "rrp", "clone")
COPY_KINDS = {"backup": "BACKUP", "replication": "REPLICATION", "offload": "SPPOFFLOAD"}

# -- the request (pure) -------------------------------------------------------------------------------------------


def version_reference(version, copy=None):
    """The ``version`` member of a restore source: pinned to this point (and copy), never ``useLatest``.

    Pinning keeps the restore on the point the task resolved, even if a backup completes meanwhile.
    """
    metadata = {"useLatest": False, "protectionTime": nested_get(version, "protectionInfo", "protectionTime")}
    if copy is not None:
        return {
            "href": nested_get(copy, "links", "version", "href") or nested_get(version, "links", "self", "href"),
            "copy": {"href": nested_get(copy, "links", "self", "href")},
            "metadata": metadata,
        }
    return {"href": nested_get(version, "links", "self", "href"), "metadata": metadata}


def build_destination(source_href=None, name=None, target=None, datastore_map=None, network_map=None, folder=None):
    """``subpolicy.destination`` (section 7.3) from resolved hrefs.

    ``target`` is ``{"href", "name", "resourceType"}`` of a host or cluster; without it the original location is kept
    (``systemDefined``). ``datastore_map`` and ``network_map`` map source hrefs to target hrefs; a network is mapped
    for both the test and the recovery networks, so that the same map serves every mode.
    """
    destination = {"target": dict(target)} if target else {"systemDefined": True}
    if name and source_href:
        destination["mapvm"] = {source_href: {"name": name}}
    if datastore_map:
        destination["mapRRPdatastore"] = dict(datastore_map)
    if network_map:
        destination["mapvirtualnetwork"] = {source: {"recovery": target_href, "test": target_href}
                                            for source, target_href in network_map.items()}
    if folder:
        destination["vmfolderpath"] = folder
    return destination


def build_restore_payload(source_vm, version, mode, copy=None, name=None, destination=None, power_on=False,
                          allow_overwrite=False):
    """The body of ``POST /ngp/hypervisor?action=restore`` for one VM (section 7.1). Pure.

    ``source_vm`` is the VM object from the ``from=recovery`` view; ``mode`` is the module's (test, clone,
    production). ``name`` None means the default name of the mode (``<name>_TEST`` / ``<name>_CLONE``), sent as a
    suffix option so that ``systemDefined`` destinations need no ``mapvm``.
    """
    if mode not in API_MODES:
        raise InvalidRequest("mode must be one of %s, got %r" % (", ".join(API_MODES), mode))
    if mode == "production" and name:
        raise InvalidRequest("a production restore keeps the original name; name applies to test and clone modes")
    href = nested_get(source_vm, "links", "self", "href")
    if destination is None:
        destination = build_destination(source_href=href, name=name)
    option = {
        "mode": API_MODES[mode],
        "poweron": bool(power_on),
        "allowvmoverwrite": bool(allow_overwrite) and mode == "production",
        "continueonerror": True,
        "autocleanup": True,
        "allowsessoverwrite": True,
        "protocolpriority": "iSCSI",
        "vmscripts": False,
        "restorevmtag": True,
        "update_vmx": True,
        "streaming": mode != "test",
        "IR": False,
    }
    if mode in DEFAULT_SUFFIXES and not name:
        option["vmNameSuffix"] = DEFAULT_SUFFIXES[mode]
    subpolicy_source = None
    if copy is not None:
        site = nested_get(copy, "links", "site", "href")
        offload = nested_get(copy, "protectionInfo", "subPolicyType") == "SPPOFFLOAD"
        subpolicy_source = {"copy": {"site": {"href": site} if site else None, "isOffload": True if offload else None}}
    return {
        "subType": "vmware",
        "spec": {
            "source": [{
                "href": href,
                "id": source_vm.get("id"),
                "resourceType": "vm",
                "include": True,
                "metadata": {"name": source_vm.get("name")},
                "version": version_reference(version, copy),
            }],
            "subpolicy": [{
                "type": "IV",
                "destination": destination,
                "source": subpolicy_source,
                "option": option,
            }],
        },
        "script": {"preGuest": None, "postGuest": None, "continueScriptsOnError": False},
    }


# -- sessions (pure readers) --------------------------------------------------------------------------------------


# -- I/O ----------------------------------------------------------------------------------------------------------


def start_restore(client, payload):
    """POST the restore once; return the ngp ``response`` (``name``, ``id``, ``sessionId``).

    The POST is not replayed after a lost answer: ``AmbiguousResult`` then says to look for the restore session.
    """
    names = ", ".join(str(source.get("metadata", {}).get("name") or source.get("id"))
                      for source in nested_get(payload, "spec", "source") or [])
    hint = ("the server may have started the restore of %s; look for its restore job session (onDemandRestore_*) "
            "before retrying: running this task again finds it and attaches to it instead of starting another" % names)
    answer = client.ngp("POST", RESTORE_PATH, params={"action": "restore"}, json=payload, lost_answer_hint=hint)
    return answer if isinstance(answer, dict) else {}


def list_restore_sessions(client, since_ms, page_size=1000):
    """Restore job sessions started at or after ``since_ms`` (epoch ms), oldest first."""
    criteria = [{"property": "serviceId", "value": list(RESTORE_SERVICE_IDS), "op": "IN"},
                {"property": "start", "value": int(since_ms), "op": ">="}]
    params = {"filter": json.dumps(criteria, separators=(",", ":")),
              "sort": json.dumps([{"property": "start", "direction": "ASC"}], separators=(",", ":"))}
    sessions = client.paginate(spp_jobs.SESSION_PATH, "sessions", params=params, page_size=page_size)
    return [session for session in sessions if is_restore_session(session)]


def session_action(client, session, name):
    """POST ``{}`` to the session's action link ``name`` (``cleanup``, ``rrp`` or ``clone``); return the answer.

    The link is discovered by name (section 7.5); a session without it (not ``RESOURCE ACTIVE``) raises ``Conflict``.
    Asynchronous: poll the session afterwards (``jobs.wait_for_session``).
    """
    href = spp_answers.link_href(session, name)
    if not href:
        offered = sorted(key for key in (session.get("links") or {}) if key in TEST_ACTIONS)
        raise Conflict(None, description="SPP job session %s offers no '%s' action while it is %s (actions offered: %s)"
                                         % (session.get("id"), name, spp_answers.session_status(session) or "unknown",
                                            ", ".join(offered) or "none"))
    hint = ("the server may have started '%s' on job session %s; read that session (RUNNING or COMPLETED means it "
            "did) before retrying: running this task again follows the session" % (name, session.get("id")))
    return client.post(href, json={}, lost_answer_hint=hint)


def recovery_vms(client, names=(), hypervisor_ids=None, page_size=1000):
    """VMs with recovery points (``from=recovery``, deleted VMs included) named exactly one of ``names``.

    Without names, every VM with recovery points of the hypervisors is listed (one paged listing each). Only VMs of
    ``hypervisor_ids`` are kept when it is given.
    """
    found = {}
    if names:
        for name in names:
            for vm in spp_listing.search_vms(client, name, source="recovery", page_size=page_size):
                found[vm.get("id")] = vm
    else:
        for hypervisor_id in hypervisor_ids or ():
            path = "/api/hypervisor/%s/vm" % hypervisor_id
            for vm in client.paginate(path, "vms", params={"from": "recovery"}, page_size=page_size):
                found[vm.get("id")] = vm
    return [vm for vm in found.values() if hypervisor_ids is None or vm.get("hypervisorKey") in hypervisor_ids]


def _by_name(client, hypervisor_id, kind, items_key, names, what):
    """``{name: object}`` for the named hosts, clusters, volumes or networks of a hypervisor; unknown names fail."""
    wanted = [name for name in names if name and "://" not in name]
    if not wanted:
        return {}
    objects = list(client.paginate("/api/hypervisor/%s/%s" % (hypervisor_id, kind), items_key,
                                   params={"from": "hlo"}))
    by_name = {item.get("name"): item for item in objects}
    unknown = sorted(set(wanted) - set(by_name))
    if unknown:
        known = sorted(str(name) for name in by_name)
        raise InvalidRequest("the backup server knows no %s named %s (known: %s)"
                             % (what, ", ".join(unknown), ", ".join(known[:30]) or "none"), unknown=unknown)
    return by_name


def _href(item_or_href):
    if isinstance(item_or_href, str):
        return item_or_href
    return nested_get(item_or_href, "links", "self", "href")


def resolve_destination(client, hypervisor_id, host=None, cluster=None, datastore_map=None, network_map=None):
    """Names of the task -> the hrefs a restore destination needs: ``{"target", "datastore_map", "network_map"}``.

    Hosts, clusters, datastores and networks are looked up by name on the backup server (one listing per kind
    used); a value that already is an href is passed through.
    """
    resolved = {"target": None, "datastore_map": {}, "network_map": {}}
    if host or cluster:
        kind, value = ("host", host) if host else ("cluster", cluster)
        if "://" in value:
            resolved["target"] = {"href": value, "resourceType": kind}
        else:
            item = _by_name(client, hypervisor_id, kind, kind + "s", [value], kind)[value]
            resolved["target"] = {"href": _href(item), "name": value, "resourceType": kind}
    for option, kind, items_key, what in (("datastore_map", "volume", "volumes", "datastore"),
                                          ("network_map", "network", "networks", "network")):
        mapping = {"datastore_map": datastore_map, "network_map": network_map}[option] or {}
        if not mapping:
            continue
        known = _by_name(client, hypervisor_id, kind, items_key, list(mapping) + list(mapping.values()), what)
        resolved[option] = {_href(known.get(source, source)): _href(known.get(target, target))
                            for source, target in mapping.items()}
    return resolved
