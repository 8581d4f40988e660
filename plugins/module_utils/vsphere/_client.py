# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection to the vSphere API (vCenter) through pyVmomi, over verified TLS, and the typing of vSphere faults.

Considered private: only this collection may import it. Nothing here knows about AnsibleModule; failures are raised
as the typed errors of ``_errors``.

Every SOAP call of a connected client goes through ``_typed_faults``: a vSphere fault that vCenter answers
(``NoPermission`` on a custom attribute or a rename, ``SystemError``, ``MethodDisabled``, ``InvalidPowerState``,
``TaskInProgress`` ...) is raised as the typed error of ``fault_error``, whose message names the call, the object,
the privilege when the fault gives it, and a fix; ``tasks.wait_for_task`` does the same for a task that ends in a
fault. The few faults that callers in this package catch and explain themselves (``PASS_THROUGH``) are left as
pyVmomi raised them.
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
    PermissionDenied,
    VmBackupError,
    VsphereFault,
)

# Faults that callers in this package catch and explain themselves, by WSDL name: left as pyVmomi raised them.
PASS_THROUGH = ("ManagedObjectNotFound", "DuplicateName", "InvalidLogin")
# The same, for one method only: ``vms.shutdown_guest`` explains these with the guest's own fix.
PASS_THROUGH_BY_METHOD = {"ShutdownGuest": ("ToolsUnavailable", "InvalidState", "TaskInProgress")}
# What a method does, in words, and the privilege it needs when the fault does not say (vSphere's privilege ids).
METHODS = {
    "SetField": ("set a custom attribute value on", "Global.SetCustomField"),
    "AddCustomFieldDef": ("create a custom attribute definition on", "Global.ManageCustomFields"),
    "Rename_Task": ("rename", "VirtualMachine.Config.Rename"),
    "PowerOffVM_Task": ("power off", "VirtualMachine.Interact.PowerOff"),
    "PowerOnVM_Task": ("power on", "VirtualMachine.Interact.PowerOn"),
    "ResetVM_Task": ("reset", "VirtualMachine.Interact.Reset"),
    "ShutdownGuest": ("shut down the guest of", "VirtualMachine.Interact.PowerOff"),
    "Destroy_Task": ("delete", "VirtualMachine.Inventory.Delete"),
}
# A task's description id -> the method that started it.
TASK_METHODS = {"VirtualMachine.rename": "Rename_Task", "VirtualMachine.powerOff": "PowerOffVM_Task",
                "VirtualMachine.powerOn": "PowerOnVM_Task", "VirtualMachine.reset": "ResetVM_Task",
                "VirtualMachine.destroy": "Destroy_Task"}


def _fault_is(fault, *names):
    """Whether ``fault`` is a pyVmomi fault of one of the WSDL type ``names`` (or a subtype): vim.fault.X, else
    vmodl.fault.X (pyVmomi files SystemError and a few others there)."""
    for name in names:
        kind = getattr(vim.fault, name, None) or getattr(vmodl.fault, name, None)
        if kind is not None and isinstance(fault, kind):
            return True
    return False


def describe_object(obj, name=None):
    """``VirtualMachine vm-42`` (``'web01' (VirtualMachine vm-42)`` with a ``name``), from a managed object reference
    alone: no call to vCenter, which may be refusing calls."""
    moref = getattr(obj, "_moId", None)
    if moref is None:
        return "'%s'" % name if name else "the object"
    kind = getattr(obj, "_wsdlName", None) or type(obj).__name__
    text = "%s %s" % (kind, moref)
    return "'%s' (%s)" % (name, text) if name else text


def _sentence(fault, method, where, server, user):
    """The typed error class, the explanation with its fix, and the details, for one fault. ``server`` is "vCenter
    https://host:443", or "vCenter" when the caller does not know the address."""
    action, needed = METHODS.get(method, ("call %s on" % method, None))
    reason = (getattr(fault, "msg", None) or "").strip().rstrip(".")
    details = {}
    if _fault_is(fault, "NotAuthenticated"):
        return AuthenticationError, ("%s refused to %s %s: the session is not (or no longer) valid. Run the "
                                     "task again; check vcenter_username and vcenter_password if it persists"
                                     % (server, action, where)), details
    if _fault_is(fault, "NoPermission"):
        privilege = getattr(fault, "privilegeId", None) or needed
        target = describe_object(fault.object) if getattr(fault, "object", None) is not None else where
        details.update(privilege=privilege, user=user)
        return PermissionDenied, (
            "%s refused to %s %s: the user %s lacks the privilege %s on %s. Fix: grant it that privilege (a role "
            "that has it, on %s or on a parent with propagation), then run the task again"
            % (server, action, where, "'%s'" % user if user else "of this task", privilege or "that this needs",
               target, target)), details
    if _fault_is(fault, "SystemError"):
        reason = getattr(fault, "reason", None) or reason
        return VsphereFault, ("%s failed to %s %s with an internal error (%s). The call may or may not have "
                              "taken effect: look at %s in vCenter (recent tasks and events), then run the task "
                              "again; it reads the current state before changing anything"
                              % (server, action, where, reason or "no reason given", where)), details
    if _fault_is(fault, "MethodDisabled"):
        source = getattr(fault, "source", None) or "another solution"
        details["source"] = source
        return VsphereFault, ("%s has disabled this operation (%s %s) for now: %s holds it (a backup or "
                              "another solution working on the object). Wait until it is done, then run the task "
                              "again" % (server, action, where, source)), details
    if _fault_is(fault, "InvalidPowerState"):
        existing, requested = getattr(fault, "existingState", None), getattr(fault, "requestedState", None)
        details["state"] = str(existing) if existing else None
        return VsphereFault, ("%s cannot %s %s in its power state%s%s: it changed meanwhile. Run the task "
                              "again; it reads the current power state first"
                              % (server, action, where, " (%s)" % existing if existing else "",
                                 ", which must be %s" % requested if requested else "")), details
    if _fault_is(fault, "TaskInProgress"):
        busy = getattr(fault, "task", None)
        details["busy_with"] = getattr(busy, "_moId", None)
        return VsphereFault, ("%s cannot %s %s now: it is busy with another task%s. Wait until that task "
                              "ends (vCenter's recent tasks), then run the task again"
                              % (server, action, where, " (%s)" % details["busy_with"] if busy else "")), details
    if _fault_is(fault, "InvalidState"):
        return VsphereFault, ("%s cannot %s %s in its current state (%s). Check its state in vCenter, then "
                              "run the task again" % (server, action, where, reason or "no reason given")), details
    return VsphereFault, ("%s refused to %s %s: %s%s. Look at the object and the event in vCenter, then run "
                          "the task again" % (server, action, where, fault_name(fault),
                                              ": %s" % reason if reason else "")), details


def fault_name(fault):
    """The WSDL name of a fault (``NoPermission``), else its class name."""
    return getattr(fault, "_wsdlName", None) or type(fault).__name__


def fault_error(fault, method, subject=None, origin=None, user=None, name=None, prefix=None, passthrough=True):
    """The typed error (``_errors``) of the vSphere ``fault`` that answered ``method`` (its WSDL name, or a task's
    description id) about ``subject`` (a managed object reference; ``name``, its name when known); None for a fault
    that ``PASS_THROUGH`` leaves to the caller (with ``passthrough``). ``prefix`` starts the message (a task's
    description)."""
    wsdl = fault_name(fault)
    if passthrough and (wsdl in PASS_THROUGH or _fault_is(fault, *PASS_THROUGH_BY_METHOD.get(method, ()))):
        return None
    method = TASK_METHODS.get(method, method)
    server = "vCenter %s" % origin if origin else "vCenter"
    error_class, text, details = _sentence(fault, method, describe_object(subject, name), server, user)
    if prefix:
        text = "%s: %s" % (prefix, text)
    details.update(fault=wsdl, method=method, object=getattr(subject, "_moId", None))
    if error_class is AuthenticationError:
        return AuthenticationError(text, fault=wsdl)
    return error_class(text, **details)


def _subject(mo, args):
    # The object a call is about: the managed object among its arguments (SetField's entity), else its _this.
    return next((arg for arg in args or () if getattr(arg, "_moId", None) is not None), mo)


def _typed_faults(stub, origin, user):
    """Make every SOAP call through ``stub`` raise ``fault_error``'s typed error for a vSphere fault."""
    invoke = stub.InvokeMethod

    def invoke_method(mo, info, args, *rest, **kwargs):
        try:
            return invoke(mo, info, args, *rest, **kwargs)
        except vmodl.MethodFault as fault:
            error = fault_error(fault, info.wsdlName, _subject(mo, args), origin, user)
            if error is None:
                raise
            raise error from None

    stub.InvokeMethod = invoke_method


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
        stub = getattr(self._si, "_stub", None)
        if stub is not None and hasattr(stub, "InvokeMethod"):
            _typed_faults(stub, self.origin, self.username)
        return self

    def disconnect(self):
        """Log out, best effort: the session expires on the server anyway."""
        si, self._si, self._content = self._si, None, None
        if si is None:
            return
        try:
            Disconnect(si)
        except (OSError, http.client.HTTPException, vmodl.MethodFault, VmBackupError):
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
