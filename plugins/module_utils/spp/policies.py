# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SLA policies and their assignment to VMs and disks; per-VM backup options (spp-api.md sections 3, 4 and 8).

Considered private: only this collection may import it. Every function takes an ``SppClient`` first.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import AmbiguousResult, ApiError, NotFound
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp.answers import find_by_name, nested_get

SLA_PATH = "/ngp/slapolicy"
SUBTYPE = "vmware"
PAYLOAD_VERSION = "1.0"


# -- pure payload builders -------------------------------------------------------------------------------------


def resource_ref(resource):
    """``{"href", "id", "metadataPath"}`` of a VM or vdisk object, as applySLAPolicies / applyOptions expect."""
    href = nested_get(resource, "links", "self", "href")
    if not href or not resource.get("id"):
        raise ApiError(None, description="SPP resource '%s' has no id or links.self.href"
                                         % resource.get("name", resource.get("id")))
    return {"href": href, "id": resource["id"], "metadataPath": resource.get("metadataPath")}


def sla_ref(sla):
    """``{"href", "id", "name"}`` of an SLA policy object."""
    href = nested_get(sla, "links", "self", "href")
    if not href or not sla.get("id"):
        raise ApiError(None, description="SPP SLA policy '%s' has no id or links.self.href" % sla.get("name"))
    return {"href": href, "id": sla["id"], "name": sla.get("name")}


def apply_sla_payload(resources, slas):
    """Body of ``applySLAPolicies``: the listed SLAs become the full set of each resource (``[]`` unassigns all)."""
    return {
        "subtype": SUBTYPE,
        "version": PAYLOAD_VERSION,
        "resources": [resource_ref(resource) for resource in resources],
        "slapolicies": [sla_ref(sla) for sla in slas],
    }


def apply_options_payload(resources, options):
    """Body of ``applyOptions``."""
    return {
        "subtype": SUBTYPE,
        "version": PAYLOAD_VERSION,
        "resources": [resource_ref(resource) for resource in resources],
        "options": dict(options),
    }


# -- SLA CRUD (plain JSON answers, spp-api.md section 14.3) ------------------------------------------------------


def list_sla_policies(client, page_size=1000):
    return list(client.paginate(SLA_PATH, "slapolicies", page_size=page_size))


def get_sla_policy(client, policy_id):
    return client.ngp("GET", "%s/%s" % (SLA_PATH, policy_id))


def find_sla_policy(client, name, policies=None):
    """The SLA policy named ``name``; ``NotFound`` listing the known names otherwise."""
    if policies is None:
        policies = list_sla_policies(client)
    return find_by_name(policies, name, "SLA policy")


def create_sla_policy(client, definition):
    """Create a policy, once. When the answer is lost, the policies are listed: the policy of that name, if the lost
    request created it, is returned; else ``AmbiguousResult`` is raised, and nothing is posted again."""
    try:
        return client.ngp("POST", SLA_PATH, json=definition,
                          lost_answer_hint="the SLA policy '%s' may have been created; list the SLA policies before "
                                           "retrying" % definition.get("name"))
    except AmbiguousResult:
        created = [policy for policy in list_sla_policies(client) if policy.get("name") == definition.get("name")]
        if len(created) == 1:
            return created[0]
        raise


def update_sla_policy(client, policy_id, definition):
    """Replace a policy's definition. Keep ``name`` unchanged: a new name makes SPP keep a copy of the old one."""
    return client.ngp("PUT", "%s/%s" % (SLA_PATH, policy_id), json=definition)


def delete_sla_policy(client, policy_id, missing_ok=False):
    """Delete a policy; True when deleted, False when already gone and ``missing_ok``. A 409 means still in use."""
    try:
        client.ngp("DELETE", "%s/%s" % (SLA_PATH, policy_id))
    except NotFound:
        if missing_ok:
            return False
        raise
    return True


# -- assignment and options --------------------------------------------------------------------------------------


def apply_sla_policies(client, resources, slas):
    """Set the SLA policies of VMs and/or vdisks (replace semantics).

    The server applies this idempotently (the same payload twice gives the same state), so it is retried like a GET.
    """
    return client.ngp("POST", "/ngp/hypervisor", params={"action": "applySLAPolicies"},
                      json=apply_sla_payload(resources, slas), retry=True)


def apply_options(client, resources, options):
    """Set backup options (e.g. ``makeApplicationConsistent``) on VMs; idempotent like ``apply_sla_policies``."""
    return client.ngp("POST", "/ngp/hypervisor", params={"action": "applyOptions"},
                      json=apply_options_payload(resources, options), retry=True)


def get_vm_options(client, vm):
    """Current backup options of a VM object, from its ``links.options`` href."""
    href = nested_get(vm, "links", "options", "href")
    if not href:
        raise NotFound(None, description="SPP VM '%s' has no options link" % vm.get("name", vm.get("id")))
    answer = client.get(href)
    if isinstance(answer, dict) and isinstance(answer.get("options"), dict):
        return answer["options"]
    return answer or {}
