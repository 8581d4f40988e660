# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection to the vSphere API (vCenter) through pyVmomi, over verified TLS.

Considered private: only this collection may import it. Nothing here knows about AnsibleModule; failures are raised
as the typed errors of ``_errors``.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import traceback

try:
    from pyVim.connect import Disconnect, SmartConnect
    from pyVmomi import vim, vmodl
except ImportError:
    Disconnect = SmartConnect = vim = vmodl = None
    HAS_PYVMOMI = False
    PYVMOMI_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_PYVMOMI = True
    PYVMOMI_IMPORT_ERROR = None

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailure,
    MissingLibraryError,
)


def build_ssl_context(validate_certs=True, ca_path=None):
    """The TLS context for vCenter: verify against ``ca_path`` only when given, the system CAs otherwise.

    With ``validate_certs`` false, neither the chain nor the host name is checked.
    """
    if not validate_certs:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if not ca_path:
        return ssl.create_default_context()
    try:
        # With a CA file, trust that file only, as the SPP client does with spp_ca_path.
        return ssl.create_default_context(cafile=ca_path)
    except FileNotFoundError:
        raise ConfigurationError("vcenter_ca_path '%s' does not exist (environment variable VMWARE_CA_PATH)"
                                 % ca_path) from None
    except (ssl.SSLError, OSError) as exc:
        raise ConfigurationError("vcenter_ca_path '%s' is not a readable PEM CA bundle: %s"
                                 % (ca_path, exc)) from None


@contextlib.contextmanager
def _default_socket_timeout(seconds):
    # SmartConnect first probes the API version over a connection opened without any timeout; the default socket
    # timeout is the only way to bound it. Modules are single-threaded, and the previous value is restored.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


class VsphereClient:
    """A logged-in pyVmomi session with one vCenter. Use as a context manager to always disconnect."""

    def __init__(self, hostname, username, password, port=443, validate_certs=True, ca_path=None, timeout=60):
        if not HAS_PYVMOMI:
            raise MissingLibraryError("the Python library 'pyvmomi' is required to talk to vCenter",
                                      exception=PYVMOMI_IMPORT_ERROR)
        if not hostname:
            raise ConfigurationError("vcenter_hostname is empty; set it or the VMWARE_HOST environment variable")
        self.hostname = hostname
        self.port = int(port)
        self.username = username
        self._password = password
        self.validate_certs = bool(validate_certs)
        self.ca_path = ca_path
        self.timeout = timeout
        self._si = None
        self._content = None

    def __repr__(self):
        return "VsphereClient(hostname=%r, port=%r, username=%r, validate_certs=%r)" % (
            self.hostname, self.port, self.username, self.validate_certs)

    def __enter__(self):
        return self.connect()

    def __exit__(self, exc_type, exc, tb):
        self.disconnect()
        return False

    @property
    def origin(self):
        return "https://%s:%s" % (self.hostname, self.port)

    def credentials(self):
        """``(username, password)`` for a second session with the same identity (vCenter's REST API for tags)."""
        return self.username, self._password

    def _tls_failure(self, exc):
        if isinstance(exc, ssl.SSLCertVerificationError):
            reason = exc.verify_message or exc.reason or str(exc)
            return ConnectionFailure(
                "TLS certificate verification failed for %s: %s. Set vcenter_ca_path to the CA that signed the "
                "vCenter certificate, or vcenter_validate_certs: false (not recommended)" % (self.origin, reason),
                url=self.origin, reason=reason)
        return ConnectionFailure("TLS handshake with %s failed: %s. Check vcenter_hostname and vcenter_port"
                                 % (self.origin, exc), url=self.origin, reason=str(exc))

    def connect(self):
        """Log in (once); return self."""
        if self._si is not None:
            return self
        context = build_ssl_context(self.validate_certs, self.ca_path)
        try:
            with _default_socket_timeout(self.timeout):
                self._si = SmartConnect(host=self.hostname, port=self.port, user=self.username or "",
                                        pwd=self._password or "", sslContext=context,
                                        httpConnectionTimeout=self.timeout)
        except vim.fault.InvalidLogin as exc:
            reason = (exc.msg or "invalid login").rstrip(".")
            raise AuthenticationError(
                "vCenter %s rejected the credentials of user '%s': %s. Check vcenter_username and vcenter_password "
                "(environment variables VMWARE_USER and VMWARE_PASSWORD)" % (self.origin, self.username, reason),
            ) from None
        except ssl.SSLError as exc:
            raise self._tls_failure(exc) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise ConnectionFailure("could not reach vCenter at %s: %s. Check vcenter_hostname, vcenter_port and "
                                    "that nothing blocks the port" % (self.origin, exc),
                                    url=self.origin, reason=str(exc)) from exc
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # SmartConnect raises a bare Exception when the endpoint does not speak the vSphere API; anything more
            # specific is a bug to surface as is.
            if type(exc) is not Exception:  # pylint: disable=unidiomatic-typecheck
                raise
            raise ConnectionFailure("%s does not answer as a vSphere API endpoint (%s). Check vcenter_hostname and "
                                    "vcenter_port" % (self.origin, exc), url=self.origin) from exc
        return self

    def disconnect(self):
        """Log out, best effort: the session expires on the server anyway."""
        si, self._si, self._content = self._si, None, None
        if si is None:
            return
        try:
            Disconnect(si)
        except (OSError, http.client.HTTPException, vmodl.MethodFault):
            pass

    @property
    def si(self):
        """The ServiceInstance (connecting first if needed)."""
        return self.connect()._si

    @property
    def content(self):
        if self._content is None:
            self._content = self.si.RetrieveContent()
        return self._content

    @property
    def instance_uuid(self):
        """``about.instanceUuid`` of the vCenter: the key SPP stores as the hypervisor's ``uniqueId``."""
        return self.content.about.instanceUuid
