# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection options of the collection's plugins (inventory), the same as the modules' ones.

Plugins read their options through Ansible's configuration manager, so the environment variables are declared with
``env:`` here instead of the ``fallback`` of ``_connection.connection_argument_spec()``. Names, types, defaults and
variables mirror that spec exactly; tests/unit/plugins/inventory/test_coverage_inventory.py fails when they drift
apart.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  backup_service:
    description:
      - The backup service to read.
      - V(spp) is an IBM Storage Protect Plus (SPP) server you log in to, with the C(spp_*) options. The C(vcenter_*)
        options are required then.
      - V(cloudtemple) is the REST API of Cloud Temple's console (Shiva), for the customers of Cloud Temple's hosted
        IaaS, who do not log in to SPP themselves. It takes a personal access token, O(cloudtemple_client_id) and
        O(cloudtemple_secret_id). The C(spp_*) options are not used. The C(vcenter_*) options are optional; without
        them the VMs come from the console's compute API; if one of O(vcenter_hostname), O(vcenter_username) and
        O(vcenter_password) is set, all three are required.
    type: str
    choices:
      - spp
      - cloudtemple
    default: spp
    version_added: 0.2.0
    env:
      - name: VM_BACKUP_SERVICE
  cloudtemple_url:
    description:
      - Address of Cloud Temple's console, without the C(/api) of its routes (a trailing C(/api) is accepted), for
        example V(https://shiva.cloud-temple.com).
      - It must not hold a user name or password, as in V(https://user:password@host) (any C(@) counts). Such a URL is
        refused, and the error does not repeat it. Set O(cloudtemple_client_id) and O(cloudtemple_secret_id) instead.
      - An V(http://) URL gives a warning, as the personal access token and the bearer tokens would travel
        unencrypted.
      - Used when O(backup_service=cloudtemple).
      - Required with O(backup_service=cloudtemple); the default is Cloud Temple's public console, and an empty value
        is refused.
    type: str
    default: https://shiva.cloud-temple.com
    version_added: 0.2.0
    env:
      - name: CLOUDTEMPLE_URL
  cloudtemple_client_id:
    description:
      - Client id of the Cloud Temple personal access token (created in the console, under your profile), the
        token's id.
      - Used when O(backup_service=cloudtemple).
      - Required with O(backup_service=cloudtemple), as this option or through the environment variable.
    type: str
    version_added: 0.2.0
    env:
      - name: CLOUDTEMPLE_CLIENT_ID
  cloudtemple_secret_id:
    description:
      - Secret of the Cloud Temple personal access token O(cloudtemple_client_id). It is never logged, nor are the
        bearer tokens the console gives for it.
      - May be vault-encrypted, or a template, for example one that uses a lookup (see the plugin's examples).
      - Used when O(backup_service=cloudtemple).
      - Required with O(backup_service=cloudtemple), as this option or through the environment variable.
    type: str
    version_added: 0.2.0
    env:
      - name: CLOUDTEMPLE_SECRET_ID
  cloudtemple_validate_certs:
    description:
      - Whether to verify the TLS certificate of Cloud Temple's console.
      - Only set this to V(false) on a test system; prefer O(cloudtemple_ca_path) for a private CA.
    type: bool
    default: true
    version_added: 0.2.0
    env:
      - name: CLOUDTEMPLE_VALIDATE_CERTS
  cloudtemple_ca_path:
    description:
      - PEM file with the CA certificate(s) that signed the certificate of Cloud Temple's console. When set, only
        these CAs are trusted.
      - Ignored when O(cloudtemple_validate_certs=false).
    type: path
    version_added: 0.2.0
    env:
      - name: CLOUDTEMPLE_CA_PATH
  cloudtemple_timeout:
    description:
      - Seconds to wait for the connection to Cloud Temple's console and for each answer.
      - From 1 to 3600 (0 does not mean the default); a value outside is refused before any call.
    type: int
    default: 60
    version_added: 0.2.0
    env:
      - name: CLOUDTEMPLE_TIMEOUT
  spp_url:
    description:
      - URL of the IBM Storage Protect Plus (SPP) server, for example V(https://spp.example.com).
      - It must not hold a user name or password, as in V(https://user:password@host) (any C(@) counts). Such a URL is
        refused, and the error does not repeat it. Set O(spp_username) and O(spp_password) instead.
      - An V(http://) URL works but gives a warning, unless O(spp_allow_http=true).
      - Required with O(backup_service=spp) (the default), as this option or through the environment variable.
    type: str
    env:
      - name: SPP_URL
  spp_username:
    description:
      - User name to log in to SPP with.
      - Required with O(backup_service=spp) (the default), as this option or through the environment variable.
    type: str
    env:
      - name: SPP_USERNAME
  spp_password:
    description:
      - Password of O(spp_username). It is never logged.
      - May be vault-encrypted, or a template, for example one that uses a lookup (see the plugin's examples).
      - Required with O(backup_service=spp) (the default), as this option or through the environment variable.
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
      - Required with O(backup_service=spp) (the default), as this option or through the environment variable. With
        O(backup_service=cloudtemple), optional; but if one of O(vcenter_hostname), O(vcenter_username) and
        O(vcenter_password) is set, all three are required.
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
      - Required with O(backup_service=spp) (the default), as this option or through the environment variable. With
        O(backup_service=cloudtemple), optional; but if one of O(vcenter_hostname), O(vcenter_username) and
        O(vcenter_password) is set, all three are required.
    type: str
    env:
      - name: VMWARE_USER
  vcenter_password:
    description:
      - Password of O(vcenter_username). It is never logged.
      - May be vault-encrypted, or a template, for example one that uses a lookup (see the plugin's examples).
      - Required with O(backup_service=spp) (the default), as this option or through the environment variable. With
        O(backup_service=cloudtemple), optional; but if one of O(vcenter_hostname), O(vcenter_username) and
        O(vcenter_password) is set, all three are required.
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
  - The user names, passwords, client ids, secrets and URLs may be templates (rendered with lookups allowed) or
    vault-encrypted values. Passwords, the Cloud Temple secret, the SPP session id and the Cloud Temple bearer
    tokens are never logged.
"""
