# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Restore of VMware VMs: the request of spp-api.md section 7.1, its sessions, and the test-restore actions (14.9).

Considered private: only this collection may import it. ``build_destination`` and ``build_restore_payload`` are pure;
the other functions take an ``SppClient`` first. A restore POST is never sent twice by the client: when its answer is
lost, ``AmbiguousResult`` says to look for the restore session before retrying (``services/restore_sessions.py`` does).

What the public record shows, and this module relies on:

* The payload of every IBM sample carries ``destination.systemDefined`` and the ``map*`` objects, empty when unused
  (IBM ``spplib/sdk/client.py``, ``restoreAPI.restore_vm_clone``; ``samples/vmware_restore.py`` keeps
  ``systemDefined: true`` next to ``target``, ``mapRRPdatastore`` and ``mapvirtualnetwork``).
* A point other than the latest is named by its copy: ``version.copy.href`` and ``metadata.useLatest: false`` with
  ``protectionTime`` (``samples/vmwaretestrestore.py`` and ``samples/vmware_restore.py``, ``build_vm_version``).
* The map keys are the hrefs the version's ``volumes`` and ``vnics`` links list (``samples/vmware_restore.py``,
  ``get_version_info``), sent exactly as listed; target networks come from the host's or cluster's
  ``links.networks`` (same sample, ``validate_alt_location``).
* A copy names its site by ``siteId`` (``samples/sqlrestore.py``: ``copy['siteId'] == site['id']``); the restore
  names the site by its href ``/api/site/{id}`` in ``subpolicy.source.copy.site`` (``spplib/sdk/client.py``).
* The restore answer names the job (``response.name``); its session is found by ``jobName`` (``samples/
  vmware_restore.py``, ``get_job_infos``). ``response.sessionId`` is used only when present (spp-api.md 14.3).
"""

from __future__ import annotations

import json

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import Conflict, InvalidRequest
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import versions as spp_versions
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp.answers import (
    API_MODES,
    RESTORE_SERVICE_IDS,
    is_restore_session,
    link_href,
    nested_get,
)

RESTORE_PATH = "/ngp/hypervisor"
SITE_PATH = "/api/site/%s"

# -- the request (pure) -------------------------------------------------------------------------------------------


def version_reference(version, copy=None):
    """The ``version`` member of a restore source: pinned to this point and copy, never ``useLatest``.

    Pinning keeps the restore on the point the task resolved, even if a backup completes meanwhile. ``copy`` is the
    copy to restore from (``answers.default_copy`` when the task names none); without any, the version alone.
    """
    metadata = {"useLatest": False, "protectionTime": nested_get(version, "protectionInfo", "protectionTime")}
    if copy is not None:
        return {
            "href": link_href(copy, "version") or link_href(version, "self"),
            "copy": {"href": link_href(copy, "self")},
            "metadata": metadata,
        }
    return {"href": link_href(version, "self"), "metadata": metadata}


def build_destination(source_href=None, name=None, target=None, datastore_map=None, network_map=None, folder=None):
    """``subpolicy.destination`` (section 7.3) from resolved hrefs.

    ``systemDefined`` and the ``map*`` objects are always there, empty when unused, as in IBM's samples. ``target`` is
    ``{"href", "name", "resourceType"}`` of a host or cluster. ``datastore_map`` and ``network_map`` map source hrefs
    (from the version's links) to target hrefs; a network is mapped for both the test and the recovery networks, so
    that the same map serves every mode. ``name`` renames the restored VM through ``mapvm``.
    """
    destination = {
        "systemDefined": True,
        "mapvirtualnetwork": {source: {"recovery": target_href, "test": target_href}
                              for source, target_href in (network_map or {}).items()},
        "mapRRPdatastore": dict(datastore_map or {}),
        "mapsubnet": {},
    }
    if target:
        destination["target"] = dict(target)
    if name and source_href:
        destination["mapvm"] = {source_href: {"name": name}}
    if folder:
        destination["vmfolderpath"] = folder
    return destination


def build_restore_payload(source_vm, version, mode, copy=None, name=None, destination=None, power_on=False,
                          allow_overwrite=False, site_href=None):
    """The body of ``POST /ngp/hypervisor?action=restore`` for one VM (section 7.1). Pure.

    ``source_vm`` is the VM object from the ``from=recovery`` view; ``mode`` is the module's (test, clone,
    production). ``name`` is the restored VM's name (``mapvm``; production keeps the original name). ``copy`` is the
    copy the task asked for, restored from its site (``site_href``, see ``site_href``); without it the version's
    default copy is pinned and the server picks the site.
    """
    if mode not in API_MODES:
        raise InvalidRequest("mode must be one of %s, got %r" % (", ".join(API_MODES), mode))
    if mode == "production" and name:
        raise InvalidRequest("a production restore keeps the original name; name applies to test and clone modes")
    href = link_href(source_vm, "self")
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
    subpolicy_source = None
    if copy is not None:
        offload = nested_get(copy, "protectionInfo", "subPolicyType") == "SPPOFFLOAD"
        subpolicy_source = {"copy": {"site": {"href": site_href} if site_href else None,
                                     "isOffload": True if offload else None}}
    return {
        "subType": "vmware",
        "spec": {
            "source": [{
                "href": href,
                "id": source_vm.get("id"),
                "resourceType": "vm",
                "include": True,
                "metadata": {"name": source_vm.get("name")},
                "version": version_reference(version, copy if copy is not None else spp_answers.default_copy(version)),
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


# -- I/O ----------------------------------------------------------------------------------------------------------


def site_href(client, copy):
    """``https://<spp>/api/site/{siteId}`` of a copy's site, or None when the copy names none."""
    site_id = (copy or {}).get("siteId")
    return client.url_for(SITE_PATH % site_id) if site_id not in (None, "") else None


def start_restore(client, payload):
    """POST the restore once; return the ngp ``response`` (``name``, ``id``, and ``sessionId`` on some servers).

    The POST is not replayed after a lost answer: ``AmbiguousResult`` then says to look for the restore session.
    """
    names = ", ".join(str(source.get("metadata", {}).get("name") or source.get("id"))
                      for source in nested_get(payload, "spec", "source") or [])
    hint = ("the server may have started the restore of %s; look for its restore job session (onDemandRestore_*) "
            "before retrying: running this task again finds it and attaches to it instead of starting another" % names)
    answer = client.ngp("POST", RESTORE_PATH, params={"action": "restore"}, json=payload, lost_answer_hint=hint)
    return answer if isinstance(answer, dict) else {}


def _session_listing(client, criteria, page_size):
    params = {"filter": json.dumps(criteria, separators=(",", ":")),
              "sort": json.dumps([{"property": "start", "direction": "ASC"}], separators=(",", ":"))}
    return client.paginate(spp_jobs.SESSION_PATH, "sessions", params=params, page_size=page_size)


def list_restore_sessions(client, since_ms, page_size=1000):
    """Restore job sessions started at or after ``since_ms`` (epoch ms), oldest first."""
    criteria = [{"property": "serviceId", "value": list(RESTORE_SERVICE_IDS), "op": "IN"},
                {"property": "start", "value": int(since_ms), "op": ">="}]
    sessions = [session for session in _session_listing(client, criteria, page_size) if is_restore_session(session)]
    return sorted(sessions, key=lambda session: int(session.get("start") or 0))


def sessions_of_job(client, job_name, page_size=1000):
    """The job sessions of the restore job ``job_name`` (the ``response.name`` of the restore POST), oldest first.

    IBM's restore sample finds its session this way (``samples/vmware_restore.py``, ``get_job_infos``: filter
    ``jobName = <name>``; "there should only be 1 entry at this time for a restore job since they have unique names").
    """
    criteria = [{"property": "jobName", "value": job_name, "op": "="}]
    sessions = [session for session in _session_listing(client, criteria, page_size)
                if (session.get("jobName") or session.get("name")) == job_name]
    return sorted(sessions, key=lambda session: int(session.get("start") or 0))


def session_action(client, session, action):
    """POST ``{}`` to the session's link for ``action`` (``cleanup``: ``end_iv`` or ``cleanup``; ``rrp``; ``clone``).

    The link is found among the session's links by name (spp-api.md 14.9; SPP's UI posts to a session's action link,
    ``job-session.model.ts``); a session without it raises ``Conflict`` naming the links it does offer. Asynchronous:
    poll the session afterwards.
    """
    link = spp_answers.test_action_link(session, action)
    if link is None:
        raise Conflict(None, description="SPP job session %s offers no '%s' action (looked for %s) while it is %s; its "
                                         "links are: %s" % (
                                             session.get("id"), action,
                                             " or ".join(spp_answers.TEST_ACTION_LINKS[action]),
                                             spp_answers.session_status(session) or "unknown",
                                             ", ".join(spp_answers.link_names(session)) or "none"))
    name, href = link
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


# -- where the restored VM goes -----------------------------------------------------------------------------------
#
# Names of hosts, clusters, datastores and networks are unique per datacenter only, so a name can designate several
# items. What tells them apart (inferences, marked so):
# * hosts and clusters: ``datacenter.name`` in their listing item. The public record shows the items' ``name``, ``id``
#   and ``links`` (IBM ``samples/vmware_recoverypoints.py``); the datacenter is as SPP's VM items carry it (spp-api.md
#   2.2 ``config.location`` starts with it; the emulator answers ``datacenter: {name}`` on VMs, hosts and clusters)
#   [INFERENCE].
# * datastores: the datacenter of the hosts that mount them (``hypervisorHostKey``, the filter property of the same
#   sample; a datastore belongs to one datacenter) [INFERENCE].
# * networks of a restore's target: the datacenter of the host or cluster whose ``links.networks`` listed them.
# The href always tells them apart, and is always accepted.


def _located_name(item, locate):
    datacenter = locate(item)
    return "%s/%s" % (datacenter, item.get("name")) if datacenter else None


def _describe(item, locate):
    href = link_href(item, "self")
    located = _located_name(item, locate) if locate else None
    return "%s (%s)" % (located, href) if located else href


def _pick(items, value, what, where, locate=None):
    """The href of the item ``value`` designates: an item's href exactly, its name, or (with ``locate``, the item's
    datacenter or None) ``<datacenter>/<name>``, a leading ``/`` allowed. A name that several items carry is an error
    that lists them with their datacenter and href; nothing is chosen for the user."""
    by_href = {link_href(item, "self"): item for item in items}
    if value in by_href:
        return value
    named = [item for item in items if item.get("name") == value]
    if not named and locate and "/" in value:
        wanted = value[1:] if value.startswith("/") else value
        named = [item for item in items if _located_name(item, locate) == wanted]
    if len(named) == 1:
        return link_href(named[0], "self")
    if named:
        candidates = sorted(_describe(item, locate) for item in named)
        located = {_located_name(item, locate) for item in named} if locate else set()
        how = ("<datacenter>/<name> or the href" if None not in located and len(located) == len(named)
               else "the href")
        raise InvalidRequest("%s has %d %ss named %s: %s; give one as %s" % (
            where, len(named), what, value, ", ".join(candidates), how), candidates={value: candidates})
    qualified = locate and "/" in value
    known = sorted({str((_located_name(item, locate) if qualified else None) or item.get("name")) for item in items})
    raise InvalidRequest("%s has no %s named %s (known: %s)" % (
        where, what, value, ", ".join(known[:30]) or "none"), unknown=[value])


def _listing(client, hypervisor_id, kind, items_key):
    return list(client.paginate("/api/hypervisor/%s/%s" % (hypervisor_id, kind), items_key, params={"from": "hlo"}))


def _datacenter(item):
    return nested_get(item, "datacenter", "name") or None


def _target_networks(client, hypervisor_id, target_item, version):
    """Networks a restored VM may be attached to, with the datacenter of the host or cluster that lists each: the
    target host's or cluster's ``links.networks``; without a target, those of every host, the host the point was
    taken on (``hypervisorHostname``) first (a network need not be on every host; the hypervisor-wide ``/network``
    listing is not on record, spp-api.md 14.17). Returns ``(networks, {network href: datacenter})``."""
    holders = [target_item] if target_item else []
    if not holders:
        hosts = _listing(client, hypervisor_id, "host", "hosts")
        holders = sorted(hosts, key=lambda host: host.get("name") != version.get("hypervisorHostname"))
    networks, datacenters = {}, {}
    for holder in holders:
        href = link_href(holder, "networks")
        for network in client.paginate(href, "networks") if href else ():
            networks.setdefault(link_href(network, "self"), network)
            datacenters.setdefault(link_href(network, "self"), _datacenter(holder))
    return list(networks.values()), datacenters


class _VolumeDatacenters:
    """The datacenter of a datastore: that of the hosts that mount it (``hypervisorHostKey``, a list or one key).
    The hosts are listed once, and only when a datastore name needs its datacenter."""

    def __init__(self, client, hypervisor_id):
        self.client, self.hypervisor_id, self.by_host = client, hypervisor_id, None

    def __call__(self, volume):
        if self.by_host is None:
            self.by_host = {str(host.get("id")): _datacenter(host)
                            for host in _listing(self.client, self.hypervisor_id, "host", "hosts")}
        keys = volume.get("hypervisorHostKey")
        keys = keys if isinstance(keys, list) else [keys]
        found = {self.by_host.get(str(key)) for key in keys if key is not None} - {None}
        return found.pop() if len(found) == 1 else None


def resolve_destination(client, hypervisor_id, version, host=None, cluster=None, datastore_map=None,
                        network_map=None):
    """Names of the task -> the hrefs a restore destination needs: ``{"target", "datastore_map", "network_map"}``.

    Targets (hosts, clusters, datastores) are looked up on the backup server by href, name, or
    ``<datacenter>/<name>``; source datastores and networks among those of the recovery point
    (``versions.version_datastores`` / ``version_networks``), so that the map keys are the hrefs the server listed.
    An href given instead of a name must be one of those exactly. A name that several items carry is an error that
    lists them; so is an unknown name. Nothing is written: callers resolve before any change.
    """
    resolved = {"target": None, "datastore_map": {}, "network_map": {}}
    target_item = None
    if host or cluster:
        kind, value = ("host", host) if host else ("cluster", cluster)
        items = _listing(client, hypervisor_id, kind, kind + "s")
        href = _pick(items, value, kind, "the backup server", locate=_datacenter)
        target_item = next(item for item in items if link_href(item, "self") == href)
        resolved["target"] = {"href": href, "name": target_item.get("name"), "resourceType": kind}
    if datastore_map:
        sources = spp_versions.version_datastores(client, version)
        targets = _listing(client, hypervisor_id, "volume", "volumes")
        locate = _VolumeDatacenters(client, hypervisor_id)
        resolved["datastore_map"] = {
            _pick(sources, source, "datastore", "the recovery point"): _pick(targets, target, "datastore",
                                                                             "the backup server", locate=locate)
            for source, target in datastore_map.items()}
    if network_map:
        sources = spp_versions.version_networks(client, version)
        targets, datacenters = _target_networks(client, hypervisor_id, target_item, version)

        def locate_network(network):
            return datacenters.get(link_href(network, "self"))

        resolved["network_map"] = {
            _pick(sources, source, "network", "the recovery point"): _pick(targets, target, "network",
                                                                           "the restore's target",
                                                                           locate=locate_network)
            for source, target in network_map.items()}
    return resolved
