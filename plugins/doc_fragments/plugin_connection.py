# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection options of the collection's plugins (inventory), the same as the modules' ones.

Plugins read their options through Ansible's configuration manager, so the environment variables are declared with
``env:`` here instead of the ``fallback`` of ``_connection.connection_argument_spec()``. Names, types, defaults and
variables mirror that spec exactly; tests/unit/test_inventory_coverage.py fails when they drift apart.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  spp_url:
    description:
      - URL of the IBM Storage Protect Plus (SPP) server, for example V(https://spp.example.com).
      - It must not hold a user name or password, as in V(https://user:password@host) (any C(@) counts). Such a URL is
        refused, and the error does not repeat it. Set O(spp_username) and O(spp_password) instead.
      - An V(http://) URL works but gives a warning, unless O(spp_allow_http=true).
      - Required, as this option or through the environment variable.
    type: str
    env:
      - name: SPP_URL
  spp_username:
    description:
      - User name to log in to SPP with.
      - Required, as this option or through the environment variable.
    type: str
    env:
      - name: SPP_USERNAME
  spp_password:
    description:
      - Password of O(spp_username). It is never logged.
      - May be vault-encrypted, or a template, for example one that uses a lookup (see the plugin's examples).
      - Required, as this option or through the environment variable.
    type: str
    env:
      - name: SPP_PASSWORD
  spp_validate_certs:
    description:
      - Whether to verify the TLS certificate of the SPP server.
      - Only set this to V(false) on a test system; prefer O(spp_ca_path) for a private CA.
    type: bool
    default: true
    env:
      - name: SPP_VALIDATE_CERTS
  spp_ca_path:
    description:
      - PEM file with the CA certificate(s) that signed the SPP server certificate. When set, only these CAs are
        trusted.
      - Ignored when O(spp_validate_certs=false).
    type: path
    env:
      - name: SPP_CA_PATH
  spp_timeout:
    description:
      - Seconds to wait for the connection to SPP and for each answer.
      - From 1 to 3600 (0 does not mean the default); a value outside is refused before any call.
    type: int
    default: 60
  spp_allow_http:
    description:
      - Accept an V(http://) O(spp_url) without a warning.
      - Over http, the user name and password (sent at login) and then the session id travel unencrypted. The plugin
        still connects, but warns, unless this is V(true); use it only on a network you trust, such as a lab.
    type: bool
    default: false
    env:
      - name: SPP_ALLOW_HTTP
  vcenter_hostname:
    description:
      - Host name or IP address of the vCenter server.
      - Required, as this option or through the environment variable.
    type: str
    env:
      - name: VMWARE_HOST
  vcenter_port:
    description:
      - HTTPS port of the vCenter server.
      - From 1 to 65535; a value outside is refused before any call.
    type: int
    default: 443
    env:
      - name: VMWARE_PORT
  vcenter_username:
    description:
      - User name to log in to vCenter with.
      - Required, as this option or through the environment variable.
    type: str
    env:
      - name: VMWARE_USER
  vcenter_password:
    description:
      - Password of O(vcenter_username). It is never logged.
      - May be vault-encrypted, or a template, for example one that uses a lookup (see the plugin's examples).
      - Required, as this option or through the environment variable.
    type: str
    env:
      - name: VMWARE_PASSWORD
  vcenter_validate_certs:
    description:
      - Whether to verify the TLS certificate of the vCenter server.
      - Only set this to V(false) on a test system; prefer O(vcenter_ca_path) for a private CA.
    type: bool
    default: true
    env:
      - name: VMWARE_VALIDATE_CERTS
  vcenter_ca_path:
    description:
      - PEM file with the CA certificate(s) that signed the vCenter certificate. When set, only these CAs are trusted.
      - Ignored when O(vcenter_validate_certs=false).
      - E(VMWARE_CA_PATH) is an addition of this collection; community.vmware does not read it.
    type: path
    env:
      - name: VMWARE_CA_PATH
notes:
  - The connection options are the same as the modules' ones and read the same environment variables, so a
    shell set up for the modules needs nothing more.
  - The user names, passwords and URLs may be templates (rendered with lookups allowed) or vault-encrypted values.
    Passwords and the SPP session id are never logged.
"""
