# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The VMware compute routes of Cloud Temple's console: VMs, their disks, hosts, datacenters, vCenters, folders and
power (docs/cloudtemple-api.md section 12).

Considered private: only this collection may import it. One function per route, taking a ``CloudTempleClient``
first. Objects are returned as the console gives them: a VM comes in the nested shape of provider v1.5.4 and later
(``datacenter: {id, name}``) or in the older flat one (``virtualDatacenterId``, ``machineManagerId``, §12.2), and
the readers ``vm_datacenter_id``, ``vm_machine_manager_id`` and ``vm_host_cluster_id`` accept both. A read of one
object returns None on 404 (before Compute API v1.144.0 an absent object answered 403, which raises, §4.1); a list
returns a ``Listing`` (``partial`` on a 206, §2.5). Query filters follow §2.4: scalars as ``name=value``, lists as
repeated ``name[]=value``, empty values not sent.
"""

from __future__ import annotations

from urllib.parse import quote

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest

COMPUTE_PATH = "/api/compute/v1/vcenters"  # §12.6: the machine managers (vCenters) themselves
VMS_PATH = COMPUTE_PATH + "/virtual_machines"  # §12.1, §12.2
POWER_PATH = VMS_PATH + "/power"  # §12.5
RECOMMENDATIONS_PATH = POWER_PATH + "/recommendations"  # §12.5
DISKS_PATH = COMPUTE_PATH + "/virtual_disks"  # §12.3
HOSTS_PATH = COMPUTE_PATH + "/hosts"  # §12.6
DATACENTERS_PATH = COMPUTE_PATH + "/virtual_datacenters"  # §12.6
FOLDERS_PATH = COMPUTE_PATH + "/folders"  # §12.6

POWER_ACTIONS = ("on", "off")  # §12.5: the only values recorded

# Filters by Python name: the console's name, ending with ``[]`` for a list filter (§2.4, the provider's filter
# structs: ``VirtualMachineFilter``, and the filters of hosts, datacenters and folders in §12.6).
VM_FILTERS = {
    "name": "name",
    "machine_manager_id": "machineManagerId",
    "all_options": "allOptions",
    "datacenters": "datacenters[]",
    "networks": "networks[]",
    "datastores": "datastores[]",
    "hosts": "hosts[]",
    "host_clusters": "hostClusters[]",
}
PLACEMENT_FILTERS = {
    "name": "name",
    "machine_manager_id": "machineManagerId",
    "datacenter_id": "datacenterId",
    "host_cluster_id": "hostClusterId",
    "datastore_id": "datastoreId",
}


def _one(path, object_id):
    return "%s/%s" % (path, quote(str(object_id), safe=""))


def _is_empty(value):
    return value is None or value == "" or (isinstance(value, (list, tuple, set)) and not value)


def query(filters, known, what):
    """The query parameters of ``filters`` (Python names, see ``VM_FILTERS``): booleans as ``true``/``false``, list
    filters repeated, empty values left out (§2.4). An unknown name raises ``TypeError``, as a wrong keyword does."""
    unknown = sorted(set(filters) - set(known))
    if unknown:
        raise TypeError("%s takes no filter %s (known: %s)" % (what, ", ".join(unknown), ", ".join(sorted(known))))
    params = {}
    for key, value in filters.items():
        if _is_empty(value):
            continue
        name = known[key]
        if name.endswith("[]"):
            values = [value] if isinstance(value, str) else list(value)
            params[name] = [str(item) for item in values]
        elif isinstance(value, bool):
            params[name] = "true" if value else "false"
        else:
            params[name] = str(value)
    return params or None


# -- reading a VM object in either shape (§12.2) ------------------------------------------------------------------


def _reference(vm, nested, flat):
    value = (vm or {}).get(nested)
    if isinstance(value, dict) and value.get("id"):
        return str(value["id"])
    for key in flat:
        if (vm or {}).get(key):
            return str(vm[key])
    return None


def vm_datacenter_id(vm):
    """The id of a VM's datacenter: ``datacenter.id`` (v1.5.4+), else the flat ``virtualDatacenterId``."""
    return _reference(vm, "datacenter", ("virtualDatacenterId", "datacenterId"))


def vm_machine_manager_id(vm):
    """The id of a VM's vCenter: ``machineManager.id`` (v1.5.4+), else the flat ``machineManagerId``."""
    return _reference(vm, "machineManager", ("machineManagerId",))


def vm_host_cluster_id(vm):
    """The id of a VM's host cluster: ``hostCluster.id`` (v1.5.4+), else the flat ``hostClusterId``."""
    return _reference(vm, "hostCluster", ("hostClusterId",))


# -- VMs and disks (§12.1 to §12.3) -------------------------------------------------------------------------------


def list_vms(client, **filters):
    """The VMs the console lists (§12.1), filtered by ``name``, ``machine_manager_id``, ``all_options`` (bool) and the
    lists ``datacenters``, ``networks``, ``datastores``, ``hosts``, ``host_clusters`` (ids). Inferred: list items
    may carry fewer fields than ``get_vm``'s."""
    return client.listing(VMS_PATH, params=query(filters, VM_FILTERS, "list_vms"))


def get_vm(client, vm_id):
    """One VM (§12.2); None on 404."""
    return client.get_or_none(_one(VMS_PATH, vm_id))


def list_disks(client, virtual_machine_id, name=None):
    """The virtual disks of a VM (§12.3); a 404 is an empty list, as the provider reads it."""
    params = {"virtualMachineId": str(virtual_machine_id)}
    if name:
        params["name"] = str(name)
    return client.listing(DISKS_PATH, params=params, missing_is_empty=True)


def get_disk(client, disk_id):
    """One virtual disk (§12.3); None on 404."""
    return client.get_or_none(_one(DISKS_PATH, disk_id))


# -- placement and grouping (§12.6) -------------------------------------------------------------------------------


def list_hosts(client, **filters):
    """The ESXi hosts, filtered by ``name``, ``machine_manager_id``, ``datacenter_id``, ``host_cluster_id`` or
    ``datastore_id``; each lists its ``virtualMachines[{id, type}]``, the only link from a VM to its host."""
    return client.listing(HOSTS_PATH, params=query(filters, PLACEMENT_FILTERS, "list_hosts"))


def list_datacenters(client, name=None, machine_manager_id=None):
    """The virtual datacenters ``{id, name, tenantId, machineManager, vCenter}``."""
    return client.listing(DATACENTERS_PATH, params=query(
        {"name": name, "machine_manager_id": machine_manager_id}, PLACEMENT_FILTERS, "list_datacenters"))


def list_machine_managers(client):
    """The vCenters (machine managers) ``{id, name, instanceUuid, version, ...}``."""
    return client.listing(COMPUTE_PATH)


def list_folders(client, name=None, machine_manager_id=None, datacenter_id=None):
    """The VM folders ``{id, name, machineManager}``. Nothing links a VM to its folder (§12.6)."""
    return client.listing(FOLDERS_PATH, params=query(
        {"name": name, "machine_manager_id": machine_manager_id, "datacenter_id": datacenter_id}, PLACEMENT_FILTERS,
        "list_folders"))


# -- power (§12.5) ------------------------------------------------------------------------------------------------


def _vm_id(vm):
    vm_id = vm.get("id") if isinstance(vm, dict) else vm
    if not vm_id:
        raise InvalidRequest("a VM id is needed to change a VM's power state; nothing was sent")
    return str(vm_id)


def power_recommendations(client, vm):
    """Placement recommendations ``[{key, hostClusterId, hostId, hostClusterName, hostName}]`` for powering ``vm``
    (a VM object) on; a 404 is an empty list, and an empty list is fine: power on without one (§12.5, PR #47)."""
    params = {"virtualMachineId": _vm_id(vm)}
    if isinstance(vm, dict):
        for key, value in (("datacenterId", vm_datacenter_id(vm)), ("hostClusterId", vm_host_cluster_id(vm))):
            if value:
                params[key] = value
    return client.listing(RECOMMENDATIONS_PATH, params=params, missing_is_empty=True)


def power(client, vm, action, recommendation=None):
    """Power a VM ``on`` or ``off`` (§12.5); return the activity id.

    ``vm`` is the VM object (its datacenter id goes along, as the provider sends it) or its id alone (python-ct's
    form). ``recommendation``, one item of ``power_recommendations``, goes out as the provider sends it: ``key`` and
    ``hostClusterId``, the other three keys empty. Power-on is refused when the VM has no backup policy (SecNumCloud,
    #38, #194), inferred to be a synchronous HTTP error.
    """
    if action not in POWER_ACTIONS:
        raise InvalidRequest("power action '%s' is not one the console is known to accept (%s); nothing was sent"
                             % (action, ", ".join(POWER_ACTIONS)))
    body = {"id": _vm_id(vm)}
    if isinstance(vm, dict) and vm_datacenter_id(vm):
        body["datacenterId"] = vm_datacenter_id(vm)
    body["powerAction"] = action
    if recommendation:
        body["recommendation"] = {"key": recommendation.get("key"),
                                  "hostClusterId": str(recommendation.get("hostClusterId") or ""),
                                  "hostId": "", "hostClusterName": "", "hostName": ""}
    return client.write("PATCH", POWER_PATH, json=body)
