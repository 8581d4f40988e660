# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PropertyCollector retrievals whose answers are read as XML, without pyVmomi's deserialiser.

Considered private: only this collection may import it. pyVmomi serialises the request and carries it over its own
session (the stub's connection pool, TLS context, timeout, session cookie, headers and compressed answers); only the
answer is parsed differently, streamed through ``xml.etree.ElementTree.iterparse``. For 10,000 simulated VMs with their
device lists, pyVmomi's pure-Python deserialiser needs about 11 s of CPU, ElementTree about 1.5 s.

SOAP faults and transport failures are raised as the typed errors of ``_errors``.
"""

from __future__ import annotations

import http.client
import zlib
from xml.etree import ElementTree

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    ApiError,
    AuthenticationError,
    ConnectionFailure,
    NotFound,
)

VIM_NAMESPACE = "urn:vim25"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_SOAP_FAULT = "{http://schemas.xmlsoap.org/soap/envelope/}Fault"
_OBJECTS = "{urn:vim25}objects"
_OBJ = "{urn:vim25}obj"
_PROP_SET = "{urn:vim25}propSet"
_NAME = "{urn:vim25}name"
_VAL = "{urn:vim25}val"
_TOKEN = "{urn:vim25}token"
# Envelope > Body > RetrievePropertiesExResponse > returnval (a RetrieveResult) > objects / token
_RESULT_DEPTH = 4
# Envelope > Body > Fault
_FAULT_DEPTH = 3
_READ_SIZE = 64 * 1024
# Faults that say the session is gone or was never valid: the credentials, not the request, are at fault.
_SESSION_FAULTS = ("NotAuthenticated", "InvalidLogin")


def fault_error(origin, method, fault, message):
    """The typed error for the vSphere fault named ``fault`` (its WSDL name, e.g. ``ManagedObjectNotFound``)."""
    description = "%s: %s" % (fault, message) if message else fault
    if fault in _SESSION_FAULTS:
        return AuthenticationError("vCenter %s refused %s, the session is not (or no longer) valid: %s. Run the "
                                   "task again; check vcenter_username and vcenter_password if it persists"
                                   % (origin, method, description), fault=fault)
    error_class = NotFound if fault == "ManagedObjectNotFound" else ApiError
    return error_class(500, error_id=fault, description=message or None, method=method, url=origin)


def _fault_name(fault):
    """WSDL name of the fault in a SOAP ``Fault`` element: the xsi:type of its detail, else the detail's tag without
    ``Fault``, else the ``faultcode``."""
    detail = fault.find("detail")
    for child in detail if detail is not None else ():
        if child.get(XSI_TYPE):
            return child.get(XSI_TYPE).rpartition(":")[2]
        name = child.tag.rpartition("}")[2]
        return name[:-len("Fault")] if name.endswith("Fault") else name
    return (fault.findtext("faultcode") or "Fault").rpartition(":")[2]


def iter_retrieve_result(stream, origin, method):
    """``(type, moref, {property path: <val> element})`` for each object of a ``RetrieveResult`` answer, then
    ``(None, token, None)`` when the answer carries a continuation token.

    Each object is dropped from the parsed tree once the consumer has taken it, so memory does not grow with the
    answer; the elements handed out stay readable for as long as the consumer keeps them. A SOAP fault is raised as
    the typed error of ``fault_error``.
    """
    depth = 0  # of the element being read: counting keeps look-alike tags inside property values apart
    result = None
    token = None
    try:
        for event, element in ElementTree.iterparse(stream, events=("start", "end")):
            if event == "start":
                depth += 1
                if depth == _RESULT_DEPTH:
                    result = element
                continue
            if depth == _RESULT_DEPTH + 1:
                if element.tag == _OBJECTS:
                    obj = element.find(_OBJ)
                    props = {prop.findtext(_NAME): prop.find(_VAL) for prop in element.iterfind(_PROP_SET)}
                    yield obj.get("type"), obj.text, props
                    result.clear()  # drops this object (and the token, already read)
                elif element.tag == _TOKEN:
                    token = element.text
            elif depth == _FAULT_DEPTH and element.tag == _SOAP_FAULT:
                raise fault_error(origin, method, _fault_name(element), element.findtext("faultstring"))
            depth -= 1
    except ElementTree.ParseError as error:
        raise ApiError(None, description="vCenter %s answered %s with unreadable XML: %s" % (origin, method, error),
                       method=method, url=origin) from None
    if token:
        yield None, token, None


def _headers(stub):
    """The HTTP headers pyVmomi's own ``InvokeMethod`` would send on this stub."""
    # pylint: disable=protected-access
    headers = {"Cookie": stub.cookie, "SOAPAction": stub.versionId, "Content-Type": "text/xml; charset=UTF-8"}
    headers.update(getattr(stub, "_customHeaders", None) or {})
    if getattr(stub, "_acceptCompressedResponses", False):
        headers["Accept-Encoding"] = "gzip, deflate"
    return headers


def _inflater(head):
    """A decompressor for a body that starts with ``head``. gzip, and deflate as HTTP defines it (zlib-wrapped), have
    a header that ``wbits`` 32+ detects; some servers send bare deflate data, without one."""
    zlib_header = len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
    wrapped = head[:2] == b"\x1f\x8b" or zlib_header
    return zlib.decompressobj(zlib.MAX_WBITS | 32 if wrapped else -zlib.MAX_WBITS)


class _Inflating:
    """The body of an answer sent with ``Content-Encoding: gzip`` or ``deflate``, inflated as it is read.

    pyVmomi's own ``GzipReader`` reads 512 bytes at a time, and fails on ``deflate`` under Python 3.
    """

    def __init__(self, raw):
        self._raw = raw
        self._inflater = None

    def read(self, size=-1):
        """Up to ``size`` inflated bytes, b"" at the end. Small reads keep the parser's batches, hence memory, small."""
        limit = size if size > 0 else _READ_SIZE
        while True:
            pending = self._inflater.unconsumed_tail if self._inflater is not None else b""
            chunk = pending or self._raw.read(_READ_SIZE)
            if self._inflater is None:
                if not chunk:
                    return b""
                self._inflater = _inflater(chunk)
            if not chunk:
                return self._inflater.flush()
            data = self._inflater.decompress(chunk, limit)
            if data:
                return data


def _soap_objects(client, managed_object, method, args):
    """Send one call through the client's pyVmomi stub and stream ``iter_retrieve_result`` over its answer."""
    stub = client.si._stub  # pylint: disable=protected-access
    info = type(managed_object)._GetMethodInfo(method)  # pylint: disable=protected-access
    body = stub.SerializeRequest(managed_object, info, args)
    for modifier in getattr(stub, "requestModifierList", None) or []:
        body = modifier(body)
    connection = stub.GetConnection()
    reusable = False
    try:
        try:
            connection.request("POST", stub.path, body, _headers(stub))
            response = connection.getresponse()
        except (OSError, http.client.HTTPException):
            stub.DropConnections()  # as pyVmomi does: the server is probably sick
            raise
        if response.status not in (200, 500):
            raise ApiError(response.status, description=response.reason, method=method, url=client.origin)
        encoding = (response.getheader("Content-Encoding") or "identity").lower()
        stream = _Inflating(response) if encoding in ("gzip", "deflate") else response
        yield from iter_retrieve_result(stream, client.origin, method)
        if response.status == 500:
            raise ApiError(500, description="no SOAP fault in the answer", method=method, url=client.origin)
        response.read()
        reusable = True
    except zlib.error as error:
        raise ApiError(response.status, description="unreadable compressed answer: %s" % error, method=method,
                       url=client.origin) from None
    except (OSError, http.client.HTTPException) as error:
        raise ConnectionFailure("lost the connection to vCenter %s during %s: %s" % (client.origin, method, error),
                                url=client.origin, reason=str(error)) from error
    finally:
        if reusable:
            stub.ReturnConnection(connection)
        else:
            connection.close()


def retrieve_properties(client, spec_set, options):
    """``(type, moref, {property path: <val> element})`` of every object a retrieval reaches, page after page.

    ``RetrievePropertiesEx`` with ``options`` (``maxObjects`` is the page size), then
    ``ContinueRetrievePropertiesEx`` with each continuation token until there is none.
    """
    collector = client.content.propertyCollector
    method, args = "RetrievePropertiesEx", [spec_set, options]
    while method:
        token = None
        for obj_type, moref, props in _soap_objects(client, collector, method, args):
            if obj_type is None:
                token = moref
            else:
                yield obj_type, moref, props
        method, args = ("ContinueRetrievePropertiesEx", [token]) if token else (None, None)
