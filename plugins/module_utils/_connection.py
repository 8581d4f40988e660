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

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _arguments
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
HTTP_WARNING = (
    "spp_url uses http://, so the SPP user name and password (sent at login) and then the session id travel "
    "unencrypted, readable by anyone on the network path. Use https://, or set spp_allow_http: true (environment "
    "variable SPP_ALLOW_HTTP) to accept this on a network you trust.")
# The range of each numeric connection option (``_arguments``), checked before any client is built.
SPP_RANGES = {"spp_timeout": _arguments.ANSWER_SECONDS}
VCENTER_RANGES = {"vcenter_port": _arguments.TCP_PORT}


def spp_argument_spec():
    return dict(
        spp_url=dict(type="str", fallback=(env_fallback, ["SPP_URL"])),
        spp_username=dict(type="str", fallback=(env_fallback, ["SPP_USERNAME"])),
        spp_password=dict(type="str", no_log=True, fallback=(env_fallback, ["SPP_PASSWORD"])),
        spp_validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["SPP_VALIDATE_CERTS"])),
        spp_ca_path=dict(type="path", fallback=(env_fallback, ["SPP_CA_PATH"])),
        spp_timeout=dict(type="int", default=60),
        spp_allow_http=dict(type="bool", default=False, fallback=(env_fallback, ["SPP_ALLOW_HTTP"])),
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


def connection_ranges(spp=True, vcenter=True):
    """``{option: (low, high)}`` of the numeric connection options of the groups asked for."""
    ranges = dict(SPP_RANGES) if spp else {}
    if vcenter:
        ranges.update(VCENTER_RANGES)
    return ranges


def check_connection_ranges(params, spp=False, vcenter=False):
    """Raise ``ConfigurationError`` when a numeric connection option is out of its range (0 is not "the default")."""
    problems = _arguments.range_problems(params, connection_ranges(spp, vcenter))
    if problems:
        raise ConfigurationError("invalid connection option value(s): %s" % "; ".join(problems), problems=problems)


def secrets_in_url(url):
    """What a URL written with credentials (``https://user:password@host``) holds that must never be shown: the
    whole part before its last ``@`` (the scheme left out), and the password after the first ``:`` of it. Empty when
    there is no ``@``. The client refuses such a URL (``spp/_client.py``); the module glue hides these in the task's
    result (``invocation``) too."""
    text = str(url or "").strip()
    if "@" not in text:
        return []
    userinfo = text.split("://", 1)[-1].rsplit("@", 1)[0]
    found = [userinfo] if userinfo else []
    if ":" in userinfo and userinfo.split(":", 1)[1]:
        found.append(userinfo.split(":", 1)[1])
    return found


def spp_warnings(params):
    """The warnings the ``spp_*`` options call for, as texts for the user: the modules pass them to
    ``module.warn``, the inventory plugin to ``display.warning``.

    An ``http://`` spp_url sends the user name and password (Basic authentication at login), then the session id,
    unencrypted. It still works, for a lab or a trusted network, and ``spp_allow_http: true`` says so and quiets the
    warning. A URL with no scheme means https.
    """
    url = str(params.get("spp_url") or "").strip().lower()
    if url.startswith("http://") and not params.get("spp_allow_http"):
        return [HTTP_WARNING]
    return []


def _verify_flag(params, option):
    # An unset flag means the default, true: certificate checks are never turned off by omission.
    value = params.get(option)
    return True if value is None else bool(value)


def spp_client_from_params(params, logger=None):
    """An ``SppClient`` for the ``spp_*`` options of a module's params."""
    require_connection_options(params, spp=True)
    check_connection_ranges(params, spp=True)
    timeout = params.get("spp_timeout")
    return SppClient(
        url=params["spp_url"],
        username=params["spp_username"],
        password=params["spp_password"],
        validate_certs=_verify_flag(params, "spp_validate_certs"),
        ca_path=params.get("spp_ca_path"),
        timeout=60 if timeout is None else timeout,
        logger=logger,
    )


def vsphere_client_from_params(params):
    """A ``VsphereClient`` for the ``vcenter_*`` options of a module's params (not connected yet)."""
    require_connection_options(params, vcenter=True)
    check_connection_ranges(params, vcenter=True)
    port = params.get("vcenter_port")
    return VsphereClient(
        hostname=params["vcenter_hostname"],
        username=params["vcenter_username"],
        password=params["vcenter_password"],
        port=443 if port is None else port,
        validate_certs=_verify_flag(params, "vcenter_validate_certs"),
        ca_path=params.get("vcenter_ca_path"),
    )
