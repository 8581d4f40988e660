# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection options shared by every module, and the clients built from them.

Considered private: only this collection may import it. ``plugins/doc_fragments/connection.py`` documents exactly
what these builders return; a unit test compares the two.

The connection options are not ``required`` in the spec, so that ``module_defaults`` or the environment can supply
them. Their presence is checked at run time by ``missing_connection_options``, whose message names both the option
and its environment variable.
"""

from __future__ import annotations

from ansible.module_utils.common.parameters import env_fallback

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import ConfigurationError
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp._client import SppClient
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere._client import VsphereClient

# Options without which a client cannot be built: option -> environment variable.
REQUIRED_SPP_OPTIONS = {"spp_url": "SPP_URL", "spp_username": "SPP_USERNAME", "spp_password": "SPP_PASSWORD"}
REQUIRED_VCENTER_OPTIONS = {
    "vcenter_hostname": "VMWARE_HOST",
    "vcenter_username": "VMWARE_USER",
    "vcenter_password": "VMWARE_PASSWORD",
}


def spp_argument_spec():
    return dict(
        spp_url=dict(type="str", fallback=(env_fallback, ["SPP_URL"])),
        spp_username=dict(type="str", fallback=(env_fallback, ["SPP_USERNAME"])),
        spp_password=dict(type="str", no_log=True, fallback=(env_fallback, ["SPP_PASSWORD"])),
        spp_validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["SPP_VALIDATE_CERTS"])),
        spp_ca_path=dict(type="path", fallback=(env_fallback, ["SPP_CA_PATH"])),
        spp_timeout=dict(type="int", default=60),
    )


def vcenter_argument_spec():
    return dict(
        vcenter_hostname=dict(type="str", fallback=(env_fallback, ["VMWARE_HOST"])),
        vcenter_port=dict(type="int", default=443, fallback=(env_fallback, ["VMWARE_PORT"])),
        vcenter_username=dict(type="str", fallback=(env_fallback, ["VMWARE_USER"])),
        vcenter_password=dict(type="str", no_log=True, fallback=(env_fallback, ["VMWARE_PASSWORD"])),
        vcenter_validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["VMWARE_VALIDATE_CERTS"])),
        vcenter_ca_path=dict(type="path", fallback=(env_fallback, ["VMWARE_CA_PATH"])),
    )


def connection_argument_spec():
    """Both groups of connection options, for modules that talk to SPP and to vCenter."""
    spec = spp_argument_spec()
    spec.update(vcenter_argument_spec())
    return spec


def missing_connection_options(params, spp=None, vcenter=None):
    """Required connection options absent from ``params``, each as "option (environment variable NAME)".

    ``spp`` and ``vcenter`` choose the groups to check; left at None, a group is checked when any of its options is
    a key of ``params``, so a module with the SPP options alone is not asked for vCenter ones.
    """
    missing = []
    for wanted, required in ((spp, REQUIRED_SPP_OPTIONS), (vcenter, REQUIRED_VCENTER_OPTIONS)):
        if wanted is None:
            wanted = any(option in params for option in required)
        if not wanted:
            continue
        for option, variable in required.items():
            if params.get(option) in (None, ""):
                missing.append("%s (environment variable %s)" % (option, variable))
    return missing


def missing_options_message(missing):
    """The one message for absent connection options: each option with its variable, and where to set them."""
    return ("missing connection option(s): %s. Set them on the task, in module_defaults "
            "(group/sovereign.vm_backup.all), in the inventory source's configuration, or in the environment"
            % ", ".join(missing))


def require_connection_options(params, spp=False, vcenter=False):
    """Raise ``ConfigurationError`` (its message from ``missing_options_message``) when a required option is absent."""
    missing = missing_connection_options(params, spp=spp, vcenter=vcenter)
    if missing:
        raise ConfigurationError(missing_options_message(missing), missing=missing)


def _verify_flag(params, option):
    # An unset flag means the default, true: certificate checks are never turned off by omission.
    value = params.get(option)
    return True if value is None else bool(value)


def spp_client_from_params(params, logger=None):
    """An ``SppClient`` for the ``spp_*`` options of a module's params."""
    require_connection_options(params, spp=True)
    return SppClient(
        url=params["spp_url"],
        username=params["spp_username"],
        password=params["spp_password"],
        validate_certs=_verify_flag(params, "spp_validate_certs"),
        ca_path=params.get("spp_ca_path"),
        timeout=params.get("spp_timeout") or 60,
        logger=logger,
    )


def vsphere_client_from_params(params):
    """A ``VsphereClient`` for the ``vcenter_*`` options of a module's params (not connected yet)."""
    require_connection_options(params, vcenter=True)
    return VsphereClient(
        hostname=params["vcenter_hostname"],
        username=params["vcenter_username"],
        password=params["vcenter_password"],
        port=params.get("vcenter_port") or 443,
        validate_certs=_verify_flag(params, "vcenter_validate_certs"),
        ca_path=params.get("vcenter_ca_path"),
    )
