# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection options of the collection's modules.

The ``spp`` fragment documents exactly what ``_connection.spp_argument_spec()`` builds and the ``vcenter`` fragment
what ``_connection.vcenter_argument_spec()`` builds; tests/unit/plugins/module_utils/test_connection.py fails when they
drift apart. Modules use ``extends_documentation_fragment: [sovereign.vm_backup.connection,
sovereign.vm_backup.connection.spp]`` (and ``sovereign.vm_backup.connection.vcenter`` when they talk to vCenter).
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
notes:
  - The connection options can be set once for all the modules of this collection with
    C(module_defaults) and the action group C(group/sovereign.vm_backup.all), or through the environment
    variables named in each option.
  - Passwords and the SPP session id are never logged nor returned.
"""

    SPP = r"""
options:
  spp_url:
    description:
      - URL of the IBM Storage Protect Plus (SPP) server, for example V(https://spp.example.com).
      - It must not hold a user name or password, as in V(https://user:password@host) (any C(@) counts). Such a URL is
        refused, and the error does not repeat it. Set O(spp_username) and O(spp_password) instead.
      - An V(http://) URL works but gives a warning, unless O(spp_allow_http=true).
      - If not set, the value of the E(SPP_URL) environment variable is used.
      - Required, as this option or through the environment variable.
    type: str
  spp_username:
    description:
      - User name to log in to SPP with.
      - If not set, the value of the E(SPP_USERNAME) environment variable is used.
      - Required, as this option or through the environment variable.
    type: str
  spp_password:
    description:
      - Password of O(spp_username). It is never logged.
      - If not set, the value of the E(SPP_PASSWORD) environment variable is used.
      - Required, as this option or through the environment variable.
    type: str
  spp_validate_certs:
    description:
      - Whether to verify the TLS certificate of the SPP server.
      - Only set this to V(false) on a test system; prefer O(spp_ca_path) for a private CA.
      - If not set, the value of the E(SPP_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  spp_ca_path:
    description:
      - PEM file with the CA certificate(s) that signed the SPP server certificate. When set, only these CAs are
        trusted.
      - Ignored when O(spp_validate_certs=false).
      - If not set, the value of the E(SPP_CA_PATH) environment variable is used.
    type: path
  spp_timeout:
    description:
      - Seconds to wait for the connection to SPP and for each answer.
      - From 1 to 3600 (0 does not mean the default); a value outside is refused before any call.
    type: int
    default: 60
  spp_allow_http:
    description:
      - Accept an V(http://) O(spp_url) without a warning.
      - Over http, the user name and password (sent at login) and then the session id travel unencrypted. The module
        still connects, but warns, unless this is V(true); use it only on a network you trust, such as a lab.
      - If not set, the value of the E(SPP_ALLOW_HTTP) environment variable is used.
    type: bool
    default: false
"""

    VCENTER = r"""
options:
  vcenter_hostname:
    description:
      - Host name or IP address of the vCenter server.
      - If not set, the value of the E(VMWARE_HOST) environment variable is used.
      - Required, as this option or through the environment variable.
    type: str
  vcenter_port:
    description:
      - HTTPS port of the vCenter server.
      - From 1 to 65535; a value outside is refused before any call.
      - If not set, the value of the E(VMWARE_PORT) environment variable is used.
    type: int
    default: 443
  vcenter_username:
    description:
      - User name to log in to vCenter with.
      - If not set, the value of the E(VMWARE_USER) environment variable is used.
      - Required, as this option or through the environment variable.
    type: str
  vcenter_password:
    description:
      - Password of O(vcenter_username). It is never logged.
      - If not set, the value of the E(VMWARE_PASSWORD) environment variable is used.
      - Required, as this option or through the environment variable.
    type: str
  vcenter_validate_certs:
    description:
      - Whether to verify the TLS certificate of the vCenter server.
      - Only set this to V(false) on a test system; prefer O(vcenter_ca_path) for a private CA.
      - If not set, the value of the E(VMWARE_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  vcenter_ca_path:
    description:
      - PEM file with the CA certificate(s) that signed the vCenter certificate. When set, only these CAs are trusted.
      - Ignored when O(vcenter_validate_certs=false).
      - If not set, the value of the E(VMWARE_CA_PATH) environment variable is used. This variable is an addition of
        this collection; community.vmware does not read it.
    type: path
"""
