# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place where the collection's typed errors become ``fail_json``, and where modules get their seams.

Considered private: only this collection may import it. Services talk to two seams (``seams/``): the backup service
and the VM inventory. This glue builds the clients from the connection options (``_connection``) and wraps them in the
seams' backends (``seams_of``), which is the only place that chooses a backend.
"""

from __future__ import annotations

import contextlib

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _arguments, _connection
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import VmBackupError
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.spp_backup import SppBackupService
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.vsphere_inventory import VsphereInventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import _client as spp_client_module
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import _client as vsphere_client_module


def connected_module(options, spp=True, vcenter=True, ranges=None, string_maps=None, entries=None, durations=(),
                     texts=None, **kwargs):
    """The ``AnsibleModule`` of a module that talks to the backup server and/or vCenter: its own ``options`` plus
    the connection options of those servers (``_connection``), so that every module documents and reads them alike.
    ``kwargs`` go to ``AnsibleModule`` (``supports_check_mode``, ``mutually_exclusive`` ...).

    The values are checked before anything else happens (``check_options``): the range of every numeric option
    (``ranges``, ``{option or dotted path: (low, high)}``, plus the connection options'), the contents of the dict
    options (``string_maps``, ``entries``), the ``durations``, and the options that name something and must not be
    empty (``texts``); see ``_arguments.option_problems``."""
    spec = {}
    if spp:
        spec.update(_connection.spp_argument_spec())
    if vcenter:
        spec.update(_connection.vcenter_argument_spec())
    spec.update(options)
    module = AnsibleModule(argument_spec=spec, **kwargs)
    if spp:
        # A password written into spp_url is refused (spp/_client.py); it must not come back in the task's result
        # (invocation.module_args) either, where Ansible hides only the no_log options.
        module.no_log_values.update(_connection.secrets_in_url(module.params.get("spp_url")))
    all_ranges = _connection.connection_ranges(spp, vcenter)
    all_ranges.update(ranges or {})
    check_options(module, all_ranges, string_maps, entries, durations, texts)
    return module


def check_options(module, ranges=None, string_maps=None, entries=None, durations=(), texts=None):
    """Fail the task, listing every bad value, when ``module.params`` break ``_arguments.option_problems``."""
    try:
        _arguments.check_options(module.params, ranges, string_maps, entries, durations, texts)
    except VmBackupError as error:
        module.fail_json(msg=error.message, **error.to_result())


def precheck(module, check):
    """Call ``check()`` (a check of the module's own options: no I/O) and fail the task once, with its details, when
    it raises a typed error: for the checks a module can make before any client is built."""
    try:
        check()
    except VmBackupError as error:
        module.fail_json(msg=error.message, **error.to_result())


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
            for warning in _connection.spp_warnings(module.params):
                module.warn(warning)
            spp_client = stack.enter_context(_connection.spp_client_from_params(module.params, logger=module.log))
        if vsphere:
            vsphere_client = stack.enter_context(_connection.vsphere_client_from_params(module.params))
        yield spp_client, vsphere_client


def seams_of(spp_client=None, vsphere_client=None):
    """``(backup, inventory)``: the ``BackupService`` over ``spp_client`` and the ``VmInventory`` over
    ``vsphere_client`` (None for a client not given). The one place that chooses the backends."""
    return (None if spp_client is None else SppBackupService(spp_client),
            None if vsphere_client is None else VsphereInventory(vsphere_client))


@contextlib.contextmanager
def seams(module, backup=True, inventory=True):
    """Yield ``(backup, inventory)`` (``seams_of``; None for the side not asked for) over clients built from the
    module's options, logged out on the way out."""
    with clients(module, spp=backup, vsphere=inventory) as (spp_client, vsphere_client):
        yield seams_of(spp_client, vsphere_client)


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


def run_with_seams(module, call, backup=True, inventory=True):
    """``run`` a module whose work is one service call: ``call(backup, inventory)`` with the seams asked for (None for
    the other side), their clients logged out before the task exits."""
    def work():
        with seams(module, backup=backup, inventory=inventory) as (backup_service, vm_inventory):
            return call(backup_service, vm_inventory)

    run(module, work)
