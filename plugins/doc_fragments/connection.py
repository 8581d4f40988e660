# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection options of the collection's modules.

The ``spp`` fragment documents the options of the backup side, exactly what ``_connection.service_argument_spec()``
(``backup_service`` and the Cloud Temple options, issue 15) and ``_connection.spp_argument_spec()`` build: a module that
talks to the backup server gets both. The ``vcenter`` fragment documents what ``_connection.vcenter_argument_spec()``
builds. tests/unit/plugins/module_utils/test_connection.py fails when they drift apart. Modules use
``extends_documentation_fragment: [sovereign.vm_backup.connection.spp]`` (and ``sovereign.vm_backup.connection.vcenter``
when they talk to vCenter).
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
notes:
  - The connection options can be set once for all the modules of this collection with
    C(module_defaults) and the action group C(group/sovereign.vm_backup.all), or through the environment
    variables named in each option.
  - Passwords, the Cloud Temple secret, the SPP session id and the Cloud Temple bearer tokens are never logged nor
    returned.
"""

    SPP = r"""
options:
  backup_service:
    description:
      - The backup service to talk to.
      - V(spp) is an IBM Storage Protect Plus (SPP) server you log in to, with the C(spp_*) options. The C(vcenter_*)
        options are required then.
      - V(cloudtemple) is the REST API of Cloud Temple's console (Shiva), for the customers of Cloud Temple's hosted
        IaaS, who do not log in to SPP themselves. It takes a personal access token, O(cloudtemple_client_id) and
        O(cloudtemple_secret_id). The C(spp_*) options are not used. The C(vcenter_*) options are optional; without
        them the VMs come from the console's compute API; if one of C(vcenter_hostname), C(vcenter_username) and
        C(vcenter_password) is set, all three are required (for the modules that take them).
      - "With V(cloudtemple), SLA policies are read-only: they are created, changed and deleted by Cloud Temple
        support, so P(sovereign.vm_backup.backup_sla_policy#module) only reads them. The console API offers no
        restore: P(sovereign.vm_backup.vm_restore#module) fails before any call, and the restore roles before any
        change. Each module says what it does with each service."
      - If not set, the value of the E(VM_BACKUP_SERVICE) environment variable is used.
    type: str
    choices:
      - spp
      - cloudtemple
    default: spp
    version_added: 0.2.0
  cloudtemple_url:
    description:
      - Address of Cloud Temple's console, without the C(/api) of its routes (a trailing C(/api) is accepted), for
        example V(https://shiva.cloud-temple.com).
      - It must not hold a user name or password, as in V(https://user:password@host) (any C(@) counts). Such a URL is
        refused, and the error does not repeat it. Set O(cloudtemple_client_id) and O(cloudtemple_secret_id) instead.
      - An V(http://) URL gives a warning, as the personal access token and the bearer tokens would travel
        unencrypted.
      - Used when O(backup_service=cloudtemple).
      - If not set, the value of the E(CLOUDTEMPLE_URL) environment variable is used.
      - Required with O(backup_service=cloudtemple); the default is Cloud Temple's public console, and an empty value
        is refused.
    type: str
    default: https://shiva.cloud-temple.com
    version_added: 0.2.0
  cloudtemple_client_id:
    description:
      - Client id of the Cloud Temple personal access token (created in the console, under your profile), the
        token's id.
      - Used when O(backup_service=cloudtemple).
      - If not set, the value of the E(CLOUDTEMPLE_CLIENT_ID) environment variable is used.
      - Required with O(backup_service=cloudtemple), as this option or through the environment variable.
    type: str
    version_added: 0.2.0
  cloudtemple_secret_id:
    description:
      - Secret of the Cloud Temple personal access token O(cloudtemple_client_id). It is never logged, nor are the
        bearer tokens the console gives for it.
      - Used when O(backup_service=cloudtemple).
      - If not set, the value of the E(CLOUDTEMPLE_SECRET_ID) environment variable is used.
      - Required with O(backup_service=cloudtemple), as this option or through the environment variable.
    type: str
    version_added: 0.2.0
  cloudtemple_validate_certs:
    description:
      - Whether to verify the TLS certificate of Cloud Temple's console.
      - Only set this to V(false) on a test system; prefer O(cloudtemple_ca_path) for a private CA.
      - If not set, the value of the E(CLOUDTEMPLE_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
    version_added: 0.2.0
  cloudtemple_ca_path:
    description:
      - PEM file with the CA certificate(s) that signed the certificate of Cloud Temple's console. When set, only
        these CAs are trusted.
      - Ignored when O(cloudtemple_validate_certs=false).
      - If not set, the value of the E(CLOUDTEMPLE_CA_PATH) environment variable is used.
    type: path
    version_added: 0.2.0
  cloudtemple_timeout:
    description:
      - Seconds to wait for the connection to Cloud Temple's console and for each answer.
      - From 1 to 3600 (0 does not mean the default); a value outside is refused before any call.
      - If not set, the value of the E(CLOUDTEMPLE_TIMEOUT) environment variable is used.
    type: int
    default: 60
    version_added: 0.2.0
  spp_url:
    description:
      - URL of the IBM Storage Protect Plus (SPP) server, for example V(https://spp.example.com).
      - It must not hold a user name or password, as in V(https://user:password@host) (any C(@) counts). Such a URL is
        refused, and the error does not repeat it. Set O(spp_username) and O(spp_password) instead.
      - An V(http://) URL works but gives a warning, unless O(spp_allow_http=true).
      - If not set, the value of the E(SPP_URL) environment variable is used.
      - Required with O(backup_service=spp) (the default), as this option or through the environment variable.
    type: str
  spp_username:
    description:
      - User name to log in to SPP with.
      - If not set, the value of the E(SPP_USERNAME) environment variable is used.
      - Required with O(backup_service=spp) (the default), as this option or through the environment variable.
    type: str
  spp_password:
    description:
      - Password of O(spp_username). It is never logged.
      - If not set, the value of the E(SPP_PASSWORD) environment variable is used.
      - Required with O(backup_service=spp) (the default), as this option or through the environment variable.
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
      - Required with O(backup_service=spp) (the default), as this option or through the environment variable. With
        O(backup_service=cloudtemple), optional; but if one of O(vcenter_hostname), O(vcenter_username) and
        O(vcenter_password) is set, all three are required.
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
      - Required with O(backup_service=spp) (the default), as this option or through the environment variable. With
        O(backup_service=cloudtemple), optional; but if one of O(vcenter_hostname), O(vcenter_username) and
        O(vcenter_password) is set, all three are required.
    type: str
  vcenter_password:
    description:
      - Password of O(vcenter_username). It is never logged.
      - If not set, the value of the E(VMWARE_PASSWORD) environment variable is used.
      - Required with O(backup_service=spp) (the default), as this option or through the environment variable. With
        O(backup_service=cloudtemple), optional; but if one of O(vcenter_hostname), O(vcenter_username) and
        O(vcenter_password) is set, all three are required.
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
