# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place where the collection's typed errors become ``fail_json``, and where modules get their seams.

Considered private: only this collection may import it. Services talk to two seams (``seams/``): the backup service
and the VM inventory. This glue builds the clients from the connection options (``_connection``) and wraps them in the
seams' backends (``seams_of``), which is the only place that chooses a backend.

``backup_service`` (issue 15) chooses the backup side: IBM SPP (``spp``, the default) or Cloud Temple's console API
(``cloudtemple``). With ``cloudtemple`` the VMs come from vCenter when the ``vcenter_*`` options are given
(``_connection.uses_vcenter``), else from the console's compute API, over the same console client as the backup side:
one client, one token exchange per task.
"""

from __future__ import annotations

import contextlib

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _arguments, _connection
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import VmBackupError
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.cloudtemple_backup import CloudTempleBackupService
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.cloudtemple_inventory import CloudTempleInventory
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
        spec.update(_connection.service_argument_spec())  # backup_service and the cloudtemple_* options
    if vcenter:
        spec.update(_connection.vcenter_argument_spec())
    spec.update(options)
    module = AnsibleModule(argument_spec=spec, **kwargs)
    if spp:
        # A password written into spp_url or cloudtemple_url is refused (the clients, _connection); it must not come
        # back in the task's result (invocation.module_args) either, where Ansible hides only the no_log options.
        module.no_log_values.update(_connection.url_secrets(module.params))
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
    """Fail the task once when a library or a required connection option is missing. ``spp`` stands for the backup
    side, whichever service ``backup_service`` chooses: its options are checked (the ``cloudtemple_*`` ones with
    ``cloudtemple``, ``_connection.missing_connection_options``), and ``requests``, which both services' clients use.
    ``vsphere``: pyVmomi and the ``vcenter_*`` options."""
    if spp and not spp_client_module.HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=spp_client_module.REQUESTS_IMPORT_ERROR)
    if vsphere and not vsphere_client_module.HAS_PYVMOMI:
        module.fail_json(msg=missing_required_lib("pyvmomi"), exception=vsphere_client_module.PYVMOMI_IMPORT_ERROR)
    missing = _connection.missing_connection_options(module.params, spp=spp, vcenter=vsphere)
    if missing:
        module.fail_json(msg=_connection.missing_options_message(missing), missing=missing)


def seams_of(spp_client=None, vsphere_client=None, console_client=None, backup=True, inventory=True,
             write_timeout=None):
    """``(backup, inventory)``, the one place that chooses the backends (None for a side not asked for, or without a
    client). The backup service: SPP's over ``spp_client``, else the Cloud Temple console's over ``console_client``.
    The VM inventory: vCenter over ``vsphere_client``, else the console's compute API over ``console_client`` (the
    same client as the backup side's: one token for both). ``write_timeout``: the bound of the console's write
    activities (vm_backup_policy's option; SPP applies a write in its answer, bounded by ``spp_timeout``)."""
    backup_seam = inventory_seam = None
    if backup:
        if spp_client is not None:
            backup_seam = SppBackupService(spp_client)
        elif console_client is not None:
            backup_seam = CloudTempleBackupService(console_client, write_timeout=write_timeout)
    if inventory:
        if vsphere_client is not None:
            inventory_seam = VsphereInventory(vsphere_client)
        elif console_client is not None:
            inventory_seam = CloudTempleInventory(console_client)
    return backup_seam, inventory_seam


def _sides(params, backup, inventory):
    """``(console, vcenter)``: whether a Cloud Temple console client is needed (the backup side with
    ``cloudtemple``, or the VMs when they do not come from vCenter), and whether a vSphere client is."""
    cloudtemple = _connection.backup_service(params) == _connection.SERVICE_CLOUDTEMPLE
    vcenter = bool(inventory) and _connection.uses_vcenter(params)
    return cloudtemple and (bool(backup) or (bool(inventory) and not vcenter)), vcenter


@contextlib.contextmanager
def open_seams(params, backup=True, inventory=True, requires=(), logger=None, warn=None):
    """Yield ``(backup, inventory)`` (``seams_of``) over clients built from connection ``params`` (a module's
    params, or the inventory plugin's), closed on the way out; typed errors, no ``AnsibleModule``.

    The backup side is built first (no call: the clients log in or exchange their token on their first request), then
    each capability of ``requires`` is asked of it (``Seam.require``: ``Unsupported``), so that a task the backup
    service cannot do fails before any call, vCenter's login included. ``warn(text)`` receives the connection
    warnings, ``logger`` the clients' log lines."""
    console, vcenter = _sides(params, backup, inventory)
    backup_side = bool(backup) or console
    _connection.require_connection_options(params, spp=backup_side, vcenter=vcenter)
    with contextlib.ExitStack() as stack:
        spp_client = console_client = vsphere_client = None
        if backup_side:
            for warning in _connection.connection_warnings(params):
                if warn is not None:
                    warn(warning)
        if console:
            console_client = stack.enter_context(_connection.cloudtemple_client_from_params(params, logger=logger))
        elif backup:
            spp_client = stack.enter_context(_connection.spp_client_from_params(params, logger=logger))
        backup_seam, _none = seams_of(spp_client, None, console_client, backup=backup, inventory=False,
                                      write_timeout=params.get("write_timeout"))
        for capability in requires:
            backup_seam.require(capability)
        if vcenter:
            vsphere_client = stack.enter_context(_connection.vsphere_client_from_params(params))
        _none, inventory_seam = seams_of(None, vsphere_client, console_client, backup=False, inventory=inventory)
        yield backup_seam, inventory_seam


@contextlib.contextmanager
def seams(module, backup=True, inventory=True, requires=()):
    """Yield ``(backup, inventory)`` (``open_seams``; None for the side not asked for) over clients built from the
    module's options, logged out on the way out. A missing library or option fails the task first (``fail_json``);
    ``requires``: capabilities of the backup service the task cannot do without, asked before any call."""
    console, vcenter = _sides(module.params, backup, inventory)
    require_libraries(module, spp=bool(backup) or console, vsphere=vcenter)
    with open_seams(module.params, backup=backup, inventory=inventory, requires=requires, logger=module.log,
                    warn=module.warn) as pair:
        yield pair


def backup_beside(module, inventory):
    """A factory of context managers yielding the backup seam, for a module whose VM inventory is already open and
    that reads the backup service only sometimes (``vm_powerstate``, before a power-on): over the inventory's own
    console client when both are Cloud Temple's console (one client, one token), else built from the options then."""
    @contextlib.contextmanager
    def backup_service():
        if (isinstance(inventory, CloudTempleInventory)
                and _connection.backup_service(module.params) == _connection.SERVICE_CLOUDTEMPLE):
            yield CloudTempleBackupService(inventory.client)
            return
        with seams(module, inventory=False) as (backup, _inventory):
            yield backup

    return backup_service


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


def run_with_seams(module, call, backup=True, inventory=True, requires=()):
    """``run`` a module whose work is one service call: ``call(backup, inventory)`` with the seams asked for (None for
    the other side), their clients logged out before the task exits. ``requires``: see ``seams``."""
    def work():
        with seams(module, backup=backup, inventory=inventory, requires=requires) as (backup_service, vm_inventory):
            return call(backup_service, vm_inventory)

    run(module, work)
