# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Recovery points (versions) of a VM and their copies (spp-api.md section 6).

Considered private: only this collection may import it. Every function takes an ``SppClient`` first. A version's
``links.volumes`` and ``links.vnics`` name the datastores and networks its VM was on: the keys of a restore's
``mapRRPdatastore`` and ``mapvirtualnetwork`` (IBM ``samples/vmware_restore.py``, ``get_version_info``).
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import NotFound
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp.answers import (
    link_href,
    nested_get,
    protection_time,
)


def list_versions(client, vm, page_size=1000):
    """The VM's recovery points with their copies inline, newest first (``from=recovery``)."""
    href = nested_get(vm, "links", "versions", "href")
    if not href:
        raise NotFound(None, description="SPP VM '%s' has no versions link" % vm.get("name", vm.get("id")))
    versions = list(client.paginate(href, "versions", params={"embedCopies": "true"}, page_size=page_size))
    return sorted(versions, key=protection_time, reverse=True)


def latest_version(client, vm):
    """The VM's newest recovery point (``links.latestversion``, one small read); None when it has none."""
    href = nested_get(vm, "links", "latestversion", "href")
    if not href:
        versions = list_versions(client, vm)
        return versions[0] if versions else None
    try:
        return client.get(href)
    except NotFound:
        return None


def version_of_session(client, vm, session_id, since=None):
    """The recovery point that job session ``session_id`` made for the VM, or None.

    The newest point is read first (one small call). The whole list is read only when the newest point came from
    another session and is not older than ``since`` (epoch ms, the session's start), i.e. when a later run may have
    added a point on top of this session's.
    """
    session_id = str(session_id)
    newest = latest_version(client, vm)
    if newest is None:
        return None
    if str(newest.get("sessionId")) == session_id:
        return newest
    if since is not None and protection_time(newest) < int(since):
        return None
    for version in list_versions(client, vm):
        if str(version.get("sessionId")) == session_id:
            return version
    return None


def _linked(client, version, link, items_key):
    """The items behind one of a version's links; the version is read again when the listing left its links out."""
    href = link_href(version, link)
    if not href and link_href(version, "self"):
        href = link_href(client.get(link_href(version, "self")), link)
    if not href:
        raise NotFound(None, description="SPP recovery point %s has no '%s' link, so its %s cannot be mapped"
                                         % (version.get("id"), link, items_key))
    return list(client.paginate(href, items_key))


def version_datastores(client, version):
    """The datastores of a recovery point (``links.volumes``): their ``links.self.href`` are the source keys of
    ``mapRRPdatastore`` (IBM ``samples/vmware_restore.py``, ``get_version_info``)."""
    return _linked(client, version, "volumes", "volumes")


def version_networks(client, version):
    """The networks of a recovery point's NICs: ``links.vnics``, then each vNIC's ``links.networks``; their
    ``links.self.href`` are the source keys of ``mapvirtualnetwork`` (IBM ``samples/vmware_restore.py``)."""
    networks = {}
    for vnic in _linked(client, version, "vnics", "vnics"):
        href = link_href(vnic, "networks")
        for network in client.paginate(href, "networks") if href else ():
            networks.setdefault(link_href(network, "self"), network)
    return list(networks.values())
