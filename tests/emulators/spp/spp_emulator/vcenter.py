"""Connection to the vCenter, bulk property retrieval and the task waiter.

Every read goes through the PropertyCollector: attribute-by-attribute reads are slow, and on the govmomi
simulator fetching an unset property (``vm.snapshot`` of a VM without snapshots) makes the call fail.
"""

from __future__ import annotations

import contextlib
import http.client
import ssl
import time
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urlsplit
from xml.etree import ElementTree

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

PropertyCollector = vmodl.query.PropertyCollector
RETRIEVE_PAGE_SIZE = 1000
TASK_TIMEOUT_SECONDS = 600

# What can go wrong when talking to vCenter: a fault it reports, or the connection itself.
VCENTER_ERRORS = (vmodl.MethodFault, OSError, http.client.HTTPException)


VIM_NAMESPACE = "{urn:vim25}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


class TaskFailed(Exception):
    """A vCenter task ended in error (or did not end in time)."""


class RetrieveFailed(Exception):
    """vCenter answered a property retrieval with a SOAP fault."""

    def __init__(self, fault: str, message: str):
        super().__init__(f"{fault}: {message}")
        self.fault = fault


@dataclass(frozen=True)
class VCenterConfig:
    url: str
    user: str
    password: str
    ca_file: str | None = None
    insecure: bool = False

    def ssl_context(self) -> ssl.SSLContext | None:
        if urlsplit(self.url).scheme != "https":
            return None
        if self.insecure:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        return ssl.create_default_context(cafile=self.ca_file)


@contextlib.contextmanager
def connect(config: VCenterConfig) -> Iterator[vim.ServiceInstance]:
    """A logged-in ServiceInstance, logged out on exit. One per worker run keeps threads independent."""
    parts = urlsplit(config.url)
    service_instance = SmartConnect(
        protocol=parts.scheme or "https",
        host=parts.hostname,
        port=parts.port or (443 if parts.scheme == "https" else 80),
        path=parts.path or "/sdk",
        user=config.user,
        pwd=config.password,
        sslContext=config.ssl_context(),
    )
    try:
        yield service_instance
    finally:
        with contextlib.suppress(*VCENTER_ERRORS):
            Disconnect(service_instance)


def retrieve(service_instance, object_specs: list, property_specs: list) -> Iterator[tuple[object, dict]]:
    """(managed object, {property path: value}) for every object, in pages of RETRIEVE_PAGE_SIZE."""
    collector = service_instance.content.propertyCollector
    filter_spec = PropertyCollector.FilterSpec(objectSet=object_specs, propSet=property_specs)
    result = collector.RetrievePropertiesEx(
        [filter_spec], PropertyCollector.RetrieveOptions(maxObjects=RETRIEVE_PAGE_SIZE)
    )
    while result is not None:
        for content in result.objects:
            yield content.obj, {prop.name: prop.val for prop in content.propSet}
        if not result.token:
            break
        result = collector.ContinueRetrievePropertiesEx(result.token)


def retrieve_raw(service_instance, object_specs: list, property_specs: list) -> Iterator[tuple[str, str, dict]]:
    """(type, moref, {property path: XML element}) for every object, in pages of RETRIEVE_PAGE_SIZE.

    pyVmomi serialises the request and carries it over its own session, but the answer is parsed with
    ElementTree: pyVmomi's pure-Python deserialiser needs about 10 s for the device lists of 10,000 VMs,
    ElementTree about 1 s. Each object's element is cleared once consumed, to bound memory; the property
    elements handed out stay valid as long as the caller keeps them.
    """
    collector = service_instance.content.propertyCollector
    filter_spec = PropertyCollector.FilterSpec(objectSet=object_specs, propSet=property_specs)
    args = [[filter_spec], PropertyCollector.RetrieveOptions(maxObjects=RETRIEVE_PAGE_SIZE)]
    method = "RetrievePropertiesEx"
    while method:
        token = None
        for element in _soap_call(service_instance, collector, method, args):
            if element.tag == VIM_NAMESPACE + "objects":
                obj = element.find(VIM_NAMESPACE + "obj")
                props = {
                    prop.findtext(VIM_NAMESPACE + "name"): prop.find(VIM_NAMESPACE + "val")
                    for prop in element.iterfind(VIM_NAMESPACE + "propSet")
                }
                yield obj.get("type"), obj.text, props
                element.clear()
            elif element.tag == VIM_NAMESPACE + "token":
                token = element.text
        method, args = ("ContinueRetrievePropertiesEx", [token]) if token else (None, None)


def _soap_call(service_instance, managed_object, method: str, args: list) -> Iterator[ElementTree.Element]:
    """Send one SOAP call through pyVmomi's stub and stream the elements of its answer as they close."""
    stub = service_instance._stub  # pylint: disable=protected-access
    info = type(managed_object)._GetMethodInfo(method)  # pylint: disable=protected-access
    body = stub.SerializeRequest(managed_object, info, args)
    headers = {"Cookie": stub.cookie, "SOAPAction": stub.versionId, "Content-Type": "text/xml; charset=UTF-8"}
    connection = stub.GetConnection()
    reusable = False
    try:
        connection.request("POST", stub.path, body, headers)
        response = connection.getresponse()
        if response.status not in (200, 500):
            raise http.client.HTTPException(f"{response.status} {response.reason}")
        fault = None
        for _event, element in ElementTree.iterparse(response, events=("end",)):
            if element.tag == "faultstring":
                fault = element.text or ""
            elif element.tag == "detail" and fault is not None:
                name = next((child.tag.replace(VIM_NAMESPACE, "") for child in element), "Fault")
                raise RetrieveFailed(name.removesuffix("Fault"), fault)
            else:
                yield element
        if fault is not None:
            raise RetrieveFailed("Fault", fault)
        response.read()
        reusable = True
    finally:
        if reusable:
            stub.ReturnConnection(connection)
        else:
            connection.close()


def container_spec(service_instance, types: list) -> tuple[list, object]:
    """Object specs that reach every object of the given types under the root folder, and the view to destroy."""
    content = service_instance.content
    view = content.viewManager.CreateContainerView(content.rootFolder, types, True)
    traversal = PropertyCollector.TraversalSpec(name="view", type=vim.view.ContainerView, path="view", skip=False)
    return [PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])], view


def object_properties(service_instance, obj, managed_type, paths: list[str]) -> dict | None:
    """Properties of one object, or None when it no longer exists."""
    spec = PropertyCollector.PropertySpec(type=managed_type, pathSet=paths)
    try:
        for _obj, props in retrieve(service_instance, [PropertyCollector.ObjectSpec(obj=obj)], [spec]):
            return props
    except vmodl.fault.ManagedObjectNotFound:
        return None
    return None


def vm_by_moref(service_instance, moref: str) -> vim.VirtualMachine:
    return vim.VirtualMachine(moref, service_instance._stub)  # pylint: disable=protected-access


def wait_for_task(service_instance, task, timeout: float = TASK_TIMEOUT_SECONDS):
    """The task's result. Reads only info.state/error/result: pyVim's waiter also reads info.entity, which the
    simulator fills with a Snapshot where the API declares a ManagedEntity, and then fails to deserialise."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    paths = ["info.state", "info.error", "info.result"]
    while True:
        props = object_properties(service_instance, task, vim.Task, paths) or {}
        state = props.get("info.state")
        if state == vim.TaskInfo.State.success:
            return props.get("info.result")
        if state == vim.TaskInfo.State.error:
            error = props.get("info.error")
            raise TaskFailed(getattr(error, "msg", None) or str(error))
        if time.monotonic() > deadline:
            raise TaskFailed(f"task {task._moId} did not finish within {timeout:.0f} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
