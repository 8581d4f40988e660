# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the SPP server knows of vCenter: hypervisors, VMs and virtual disks (spp-api.md section 2).

Considered private: only this collection may import it. Every function takes an ``SppClient`` first.
"""

from __future__ import annotations

HYPERVISOR_TYPE = "vmware"


def list_hypervisors(client, hypervisor_type=HYPERVISOR_TYPE, page_size=1000):
    """Registered hypervisors (vCenters) of ``hypervisor_type``; each carries ``uniqueId`` = vCenter instance UUID."""
    return [
        hypervisor
        for hypervisor in client.paginate("/api/hypervisor", "hypervisors", page_size=page_size)
        if hypervisor_type is None or hypervisor.get("type", hypervisor_type) == hypervisor_type
    ]


def list_vms(client, page_size=1000, hypervisors=None):
    """Every VM of every vmware hypervisor, from the live inventory (``from=hlo``), one paged listing per vCenter."""
    if hypervisors is None:
        hypervisors = list_hypervisors(client, page_size=page_size)
    vms = []
    for hypervisor in hypervisors:
        path = "/api/hypervisor/%s/vm" % hypervisor["id"]
        vms.extend(client.paginate(path, "vms", params={"from": "hlo"}, page_size=page_size))
    return vms


def _search(client, resource_type, items_key, name, source, page_size):
    return list(client.paginate(
        "/api/hypervisor/search", items_key,
        params={"resourceType": resource_type, "from": source},
        page_size=page_size, method="POST", json={"name": name, "hypervisorType": HYPERVISOR_TYPE},
    ))


def list_vdisks(client, page_size=1000):
    """Every virtual disk of every vmware VM (``POST /api/hypervisor/search?resourceType=vdisk&from=hlo``)."""
    return _search(client, "vdisk", "vdisks", "*", "hlo", page_size)


def search_vms(client, name, source="hlo", page_size=1000):
    """VMs named exactly ``name``. ``source`` is ``hlo`` (live inventory) or ``recovery`` (VMs with restore points).

    The server's search matches loosely, so the exact name is checked here (as IBM's samples do).
    """
    return [vm for vm in _search(client, "vm", "vms", name, source, page_size) if vm.get("name") == name]


def list_sites(client, page_size=1000):
    """Sites (availability zones) where backups are stored: ``[{"id", "name", ...}]``."""
    return list(client.paginate("/api/site", "sites", page_size=page_size))
