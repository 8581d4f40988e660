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
    type: int
    default: 60
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
