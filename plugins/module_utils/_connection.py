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

``backup_service`` chooses the backup side (issue 15): ``spp`` (the default) needs the ``spp_*`` options and the
``vcenter_*`` ones; ``cloudtemple`` (Cloud Temple's console API, docs/cloudtemple-api.md) needs the
``cloudtemple_*`` ones, and the ``vcenter_*`` ones become optional: a Cloud Temple customer may have no vCenter login,
and the VMs then come from the console's compute API (§12). Set partly, they must be set wholly (``uses_vcenter``).
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
# cloudtemple_url has a default, the public console; an empty value (an empty CLOUDTEMPLE_URL) is missing all the same.
REQUIRED_CLOUDTEMPLE_OPTIONS = {
    "cloudtemple_url": "CLOUDTEMPLE_URL",
    "cloudtemple_client_id": "CLOUDTEMPLE_CLIENT_ID",
    "cloudtemple_secret_id": "CLOUDTEMPLE_SECRET_ID",
}
SERVICE_SPP = "spp"
SERVICE_CLOUDTEMPLE = "cloudtemple"
BACKUP_SERVICES = (SERVICE_SPP, SERVICE_CLOUDTEMPLE)
BACKUP_SERVICE_VARIABLE = "VM_BACKUP_SERVICE"
# The options without which the backup side of each service cannot be reached.
REQUIRED_BACKUP_OPTIONS = {SERVICE_SPP: REQUIRED_SPP_OPTIONS, SERVICE_CLOUDTEMPLE: REQUIRED_CLOUDTEMPLE_OPTIONS}
# The console's address (docs/cloudtemple-api.md §2.1); the client writes the /api of every path itself.
DEFAULT_CLOUDTEMPLE_URL = "https://shiva.cloud-temple.com"
HTTP_WARNING = (
    "spp_url uses http://, so the SPP user name and password (sent at login) and then the session id travel "
    "unencrypted, readable by anyone on the network path. Use https://, or set spp_allow_http: true (environment "
    "variable SPP_ALLOW_HTTP) to accept this on a network you trust.")
# No cloudtemple_allow_http: the console is served over https (§2.1), and the lab runs its emulator with TLS and a lab
# CA (CLOUDTEMPLE_CA_PATH), so there is no trusted-network case to quiet; an http:// console address is a mistake.
CLOUDTEMPLE_HTTP_WARNING = (
    "cloudtemple_url uses http://, so the personal access token (cloudtemple_client_id and cloudtemple_secret_id, "
    "sent for every bearer token) and then the bearer tokens travel unencrypted, readable by anyone on the network "
    "path. Cloud Temple's console is served over https://; use it.")
# The range of each numeric connection option (``_arguments``), checked before any client is built.
SPP_RANGES = {"spp_timeout": _arguments.ANSWER_SECONDS}
CLOUDTEMPLE_RANGES = {"cloudtemple_timeout": _arguments.ANSWER_SECONDS}
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


def service_argument_spec():
    """``backup_service`` and the Cloud Temple connection options: with the ``spp_*`` ones, every option of the
    backup side. A module that talks to the backup server gets both (``_module.connected_module``)."""
    return dict(
        backup_service=dict(type="str", choices=list(BACKUP_SERVICES), default=SERVICE_SPP,
                            fallback=(env_fallback, [BACKUP_SERVICE_VARIABLE])),
        cloudtemple_url=dict(type="str", default=DEFAULT_CLOUDTEMPLE_URL, fallback=(env_fallback, ["CLOUDTEMPLE_URL"])),
        cloudtemple_client_id=dict(type="str", fallback=(env_fallback, ["CLOUDTEMPLE_CLIENT_ID"])),
        cloudtemple_secret_id=dict(type="str", no_log=True, fallback=(env_fallback, ["CLOUDTEMPLE_SECRET_ID"])),
        cloudtemple_validate_certs=dict(type="bool", default=True,
                                        fallback=(env_fallback, ["CLOUDTEMPLE_VALIDATE_CERTS"])),
        cloudtemple_ca_path=dict(type="path", fallback=(env_fallback, ["CLOUDTEMPLE_CA_PATH"])),
        cloudtemple_timeout=dict(type="int", default=60, fallback=(env_fallback, ["CLOUDTEMPLE_TIMEOUT"])),
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
    """Every connection option: the backup side's (``backup_service``, Cloud Temple's, SPP's) and vCenter's, as the
    inventory plugin reads them."""
    spec = service_argument_spec()
    spec.update(spp_argument_spec())
    spec.update(vcenter_argument_spec())
    return spec


def backup_service(params):
    """The backup service ``params`` choose: ``spp`` (also when ``backup_service`` is unset) or ``cloudtemple``."""
    return params.get("backup_service") or SERVICE_SPP


def _given(params, options):
    return [option for option in options if params.get(option) not in (None, "")]


def uses_vcenter(params):
    """Whether the VMs come from vCenter: always with ``spp``; with ``cloudtemple`` only when one of the required
    ``vcenter_*`` options is set (then all of them are required), the console's compute API otherwise."""
    return backup_service(params) != SERVICE_CLOUDTEMPLE or bool(_given(params, REQUIRED_VCENTER_OPTIONS))


def _missing(params, required):
    return ["%s (environment variable %s)" % (option, variable) for option, variable in required.items()
            if params.get(option) in (None, "")]


def missing_connection_options(params, spp=None, vcenter=None):
    """Required connection options absent from ``params``, each as "option (environment variable NAME)".

    ``spp`` and ``vcenter`` choose the groups to check; left at None, a group is checked when any of its options is
    a key of ``params``, so a module with the SPP options alone is not asked for vCenter ones. ``spp`` stands for the
    backup side: the group checked is that of ``backup_service`` (SPP's, or Cloud Temple's). Left at None, the
    vCenter group is also skipped when ``uses_vcenter`` says the VMs come from the console; ``vcenter=True`` checks it
    whatever the service (a vSphere client is being built).
    """
    required = REQUIRED_BACKUP_OPTIONS.get(backup_service(params), REQUIRED_SPP_OPTIONS)
    if spp is None:
        spp = any(option in params for option in required)
    if vcenter is None:
        vcenter = any(option in params for option in REQUIRED_VCENTER_OPTIONS) and uses_vcenter(params)
    missing = _missing(params, required) if spp else []
    return missing + (_missing(params, REQUIRED_VCENTER_OPTIONS) if vcenter else [])


def missing_options_message(missing):
    """The one message for absent connection options: each option with its variable, and where to set them. When
    the backup side's options are missing, it says which ``backup_service`` asked for them: a Cloud Temple customer
    who forgot ``backup_service: cloudtemple`` is asked for SPP's options, and told why."""
    named = [entry.split(" ", 1)[0] for entry in missing]
    service = ""
    if any(option in REQUIRED_SPP_OPTIONS for option in named):
        service = (" (needed with backup_service spp, the default; for Cloud Temple's console, set backup_service or "
                   "the %s environment variable to cloudtemple)" % BACKUP_SERVICE_VARIABLE)
    elif any(option in REQUIRED_CLOUDTEMPLE_OPTIONS for option in named):
        service = " (needed with backup_service cloudtemple)"
    return ("missing connection option(s): %s%s. Set them on the task, in module_defaults "
            "(group/sovereign.vm_backup.all), in the inventory source's configuration, or in the environment"
            % (", ".join(missing), service))


def _raise_missing(missing):
    if missing:
        raise ConfigurationError(missing_options_message(missing), missing=missing)


def require_connection_options(params, spp=False, vcenter=False):
    """Raise ``ConfigurationError`` (its message from ``missing_options_message``) when a required option is absent."""
    _raise_missing(missing_connection_options(params, spp=spp, vcenter=vcenter))


def connection_ranges(spp=True, vcenter=True):
    """``{option: (low, high)}`` of the numeric connection options of the groups asked for (``spp``: the backup
    side, both services, as ``service_argument_spec`` comes with ``spp_argument_spec``)."""
    ranges = dict(SPP_RANGES, **CLOUDTEMPLE_RANGES) if spp else {}
    if vcenter:
        ranges.update(VCENTER_RANGES)
    return ranges


def _check_ranges(params, ranges):
    problems = _arguments.range_problems(params, ranges)
    if problems:
        raise ConfigurationError("invalid connection option value(s): %s" % "; ".join(problems), problems=problems)


def check_connection_ranges(params, spp=False, vcenter=False):
    """Raise ``ConfigurationError`` when a numeric connection option is out of its range (0 is not "the default")."""
    _check_ranges(params, connection_ranges(spp, vcenter))


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


def url_secrets(params):
    """``secrets_in_url`` of both backup URLs (``spp_url``, ``cloudtemple_url``): what the module glue hides in the
    task's result (``invocation``), where Ansible hides only the no_log options."""
    return secrets_in_url(params.get("spp_url")) + secrets_in_url(params.get("cloudtemple_url"))


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


def cloudtemple_warnings(params):
    """The warnings the ``cloudtemple_*`` options call for, as ``spp_warnings``: an ``http://`` cloudtemple_url sends
    the personal access token, then the bearer tokens, unencrypted. No option quiets it (see CLOUDTEMPLE_HTTP_WARNING).
    A URL with no scheme means https."""
    url = str(params.get("cloudtemple_url") or "").strip().lower()
    return [CLOUDTEMPLE_HTTP_WARNING] if url.startswith("http://") else []


def connection_warnings(params):
    """The warnings of the backup service ``params`` choose (the options of the other one are not used)."""
    if backup_service(params) == SERVICE_CLOUDTEMPLE:
        return cloudtemple_warnings(params)
    return spp_warnings(params)


def _verify_flag(params, option):
    # An unset flag means the default, true: certificate checks are never turned off by omission.
    value = params.get(option)
    return True if value is None else bool(value)


def spp_client_from_params(params, logger=None):
    """An ``SppClient`` for the ``spp_*`` options of a module's params."""
    _raise_missing(_missing(params, REQUIRED_SPP_OPTIONS))
    _check_ranges(params, SPP_RANGES)
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


def cloudtemple_client_from_params(params, logger=None):
    """A ``CloudTempleClient`` for the ``cloudtemple_*`` options of a module's params (no token asked for yet).

    A cloudtemple_url with a user name or password in it is refused here, before the client is imported, with a
    message that does not repeat it (the client refuses it too)."""
    _raise_missing(_missing(params, REQUIRED_CLOUDTEMPLE_OPTIONS))
    _check_ranges(params, CLOUDTEMPLE_RANGES)
    if "@" in str(params["cloudtemple_url"]):  # any "@", as for spp_url; url_secrets hides what it held
        raise ConfigurationError(
            "cloudtemple_url must not hold a user name or password (the form https://user:password@host, or any '@'); "
            "it is not repeated here. Give the console's address alone, for example %s, and the personal access "
            "token in cloudtemple_client_id and cloudtemple_secret_id (environment variables CLOUDTEMPLE_CLIENT_ID "
            "and CLOUDTEMPLE_SECRET_ID)" % DEFAULT_CLOUDTEMPLE_URL)
    # Imported here: the Cloud Temple client is only needed when that service is chosen.
    from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple._client import CloudTempleClient

    timeout = params.get("cloudtemple_timeout")
    return CloudTempleClient(
        base_url=params["cloudtemple_url"],
        client_id=params["cloudtemple_client_id"],
        secret_id=params["cloudtemple_secret_id"],
        validate_certs=_verify_flag(params, "cloudtemple_validate_certs"),
        ca_path=params.get("cloudtemple_ca_path"),
        timeout=60 if timeout is None else timeout,
        logger=logger,
    )
