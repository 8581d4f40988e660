# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place where the collection's typed errors become ``fail_json``, and where modules get their clients.

Considered private: only this collection may import it.
"""

from __future__ import annotations

import contextlib

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _connection
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import VmBackupError
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import _client as spp_client_module
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import _client as vsphere_client_module


def connected_module(options, spp=True, vcenter=True, **kwargs):
    """The ``AnsibleModule`` of a module that talks to the backup server and/or vCenter: its own ``options`` plus
    the connection options of those servers (``_connection``), so that every module documents and reads them alike.
    ``kwargs`` go to ``AnsibleModule`` (``supports_check_mode``, ``mutually_exclusive`` ...)."""
    spec = {}
    if spp:
        spec.update(_connection.spp_argument_spec())
    if vcenter:
        spec.update(_connection.vcenter_argument_spec())
    spec.update(options)
    return AnsibleModule(argument_spec=spec, **kwargs)


def require_libraries(module, spp=False, vsphere=False):
    if spp and not spp_client_module.HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=spp_client_module.REQUESTS_IMPORT_ERROR)
    if vsphere and not vsphere_client_module.HAS_PYVMOMI:
        module.fail_json(msg=missing_required_lib("pyvmomi"), exception=vsphere_client_module.PYVMOMI_IMPORT_ERROR)
    missing = _connection.missing_connection_options(module.params, spp=spp, vcenter=vsphere)
    if missing:
        module.fail_json(msg=_connection.missing_options_message(missing), missing=missing)


@contextlib.contextmanager
def clients(module, spp=True, vsphere=True):
    """Yield ``(spp_client, vsphere_client)`` (None for the side not asked for), logged out on the way out."""
    require_libraries(module, spp=spp, vsphere=vsphere)
    with contextlib.ExitStack() as stack:
        spp_client = vsphere_client = None
        if spp:
            spp_client = stack.enter_context(_connection.spp_client_from_params(module.params, logger=module.log))
        if vsphere:
            vsphere_client = stack.enter_context(_connection.vsphere_client_from_params(module.params))
        yield spp_client, vsphere_client


def run(module, work):
    """Call ``work()`` and exit with its result; a typed error fails the task once, with its details.

    The result's ``diff`` is returned only when the user asked for one (``--diff``), and its ``warnings`` (a list of
    texts) become Ansible warnings.
    """
    try:
        result = work()
    except VmBackupError as error:
        module.fail_json(msg=error.message, **error.to_result())
    if not module._diff:  # pylint: disable=protected-access
        result.pop("diff", None)
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    module.exit_json(**result)


def run_with_clients(module, call, spp=True, vsphere=True):
    """``run`` a module whose work is one service call: ``call(spp_client, vsphere_client)`` with the clients asked
    for (None for the other side), logged out before the task exits."""
    def work():
        with clients(module, spp=spp, vsphere=vsphere) as (spp_client, vsphere_client):
            return call(spp_client, vsphere_client)

    run(module, work)
