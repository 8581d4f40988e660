# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The map of docs/architecture.md, enforced: which layer may import which, and how big a file may grow."""

from __future__ import annotations

import ast
import os
import re

import pytest

from code_size import LIMIT, code_lines

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir))
PLUGINS = os.path.join(ROOT, "plugins")
PREFIX = "ansible_collections.sovereign.vm_backup.plugins."
ARCHITECTURE = os.path.join(ROOT, "docs", "architecture.md")

# Layer of a file, from its path below plugins/ (first match wins).
LAYERS = (
    ("module_utils/_errors.py", "base"),
    ("module_utils/_time.py", "base"),
    ("module_utils/_wait.py", "base"),
    ("module_utils/_redact.py", "base"),
    ("module_utils/_arguments.py", "base"),
    ("module_utils/spp/answers.py", "pure"),
    ("module_utils/pure/", "pure"),
    ("module_utils/spp/", "client"),
    ("module_utils/vsphere/", "client"),
    ("module_utils/cloudtemple/", "client"),
    ("module_utils/seams/", "seam"),
    ("module_utils/services/", "service"),
    ("module_utils/_connection.py", "glue"),
    ("module_utils/_module.py", "glue"),
    ("modules/", "plugin"),
    ("inventory/", "plugin"),
    ("doc_fragments/", "docs"),
)

# Which layers each layer may import. Clients never import services or planners; pure code imports no client;
# services talk to the two seams (the backup service, the VM inventory), never to a client; the seams' backends wrap
# the clients, and the glue builds them; plugins reach the seams only through services and the glue.
ALLOWED = {
    "base": {"base"},
    "pure": {"base", "pure", "pure-answers"},
    "client": {"base", "client", "pure-answers"},
    "seam": {"base", "pure", "pure-answers", "client", "seam"},
    "service": {"base", "pure", "pure-answers", "seam", "service"},
    "glue": {"base", "client", "seam", "glue"},
    "plugin": {"base", "pure", "pure-answers", "service", "glue", "docs"},
    "docs": set(),
}


def layer_of(relative):
    for prefix, layer in LAYERS:
        if relative == prefix or relative.startswith(prefix):
            return layer
    raise AssertionError("plugins/%s has no layer in tests/unit/architecture/test_architecture.py" % relative)


def target_layer(module_name):
    """Layer of an imported collection module (``module_utils.spp.answers`` is the pure half of the SPP client)."""
    relative = module_name[len(PREFIX):].replace(".", "/")
    if relative == "module_utils/spp/answers":
        return "pure-answers"
    candidates = [relative + ".py", relative + "/"]
    for candidate in candidates:
        for prefix, layer in LAYERS:
            if candidate == prefix or candidate.startswith(prefix):
                return layer
    raise AssertionError("unknown collection module %s" % module_name)


def collection_imports(path):
    """Collection modules that ``path`` imports (``from X import y`` counts X.y when y is a module)."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PREFIX):
            for alias in node.names:
                full = node.module + "." + alias.name
                relative = full[len(PREFIX):].replace(".", "/")
                is_module = os.path.exists(os.path.join(PLUGINS, relative + ".py")) or \
                    os.path.isdir(os.path.join(PLUGINS, relative))
                found.add(full if is_module else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith(PREFIX))
    return found


def plugin_files():
    for folder, _dirs, files in os.walk(PLUGINS):
        for name in sorted(files):
            if name.endswith(".py") and name != "__init__.py":
                yield os.path.relpath(os.path.join(folder, name), PLUGINS)


FILES = sorted(plugin_files())


@pytest.mark.parametrize("relative", FILES)
def test_imports_point_down_the_layers(relative):
    layer = layer_of(relative)
    wrong = sorted("%s (%s)" % (name[len(PREFIX):], target_layer(name))
                   for name in collection_imports(os.path.join(PLUGINS, relative))
                   if target_layer(name) not in ALLOWED[layer])
    assert not wrong, "plugins/%s (layer %s) may import only %s; it imports %s" % (
        relative, layer, ", ".join(sorted(ALLOWED[layer])), ", ".join(wrong))


# The client packages: a service that imports one of them talks to a concrete server instead of a seam.
# (``spp/answers.py`` is not among them: it is pure, the reading of the SPP-shaped answers the seams return.)
CLIENT_PACKAGES = ("module_utils/spp/", "module_utils/vsphere/", "module_utils/cloudtemple/")


def test_services_import_no_client_package():
    offenders = []
    for relative in FILES:
        if layer_of(relative) != "service":
            continue
        for name in collection_imports(os.path.join(PLUGINS, relative)):
            imported = name[len(PREFIX):].replace(".", "/")
            if imported != "module_utils/spp/answers" and imported.startswith(
                    tuple(package.rstrip("/") for package in CLIENT_PACKAGES)):
                offenders.append("plugins/%s imports %s" % (relative, imported))
    assert not offenders, ("services talk to the seams (module_utils/seams/), never to a client package:\n"
                           + "\n".join(offenders))


def test_pure_code_touches_no_network_or_clock():
    offenders = []
    for relative in FILES:
        if layer_of(relative) != "pure":
            continue
        with open(os.path.join(PLUGINS, relative), encoding="utf-8") as handle:
            source = handle.read()
        if re.search(r"^\s*import (requests|socket|ssl|pyVmomi|time)\b|^\s*from (requests|pyVmomi|time) import", source,
                     re.M):
            offenders.append(relative)
    assert not offenders, "pure modules import I/O or the clock: %s" % ", ".join(offenders)


@pytest.mark.parametrize("relative", FILES)
def test_no_file_grows_past_the_size_one_person_reads_in_one_sitting(relative):
    with open(os.path.join(PLUGINS, relative), encoding="utf-8") as handle:
        count = code_lines(handle.read())
    assert count <= LIMIT, "plugins/%s has %d lines of code (limit %d): split it by stage" % (relative, count, LIMIT)


def test_only_the_waiter_compares_a_clock_with_a_deadline():
    offenders = []
    for relative in FILES:
        if relative == "module_utils/_wait.py":
            continue
        with open(os.path.join(PLUGINS, relative), encoding="utf-8") as handle:
            source = handle.read()
        for number, line in enumerate(source.splitlines(), 1):
            if re.search(r"(clock|monotonic)\(\)\s*[-+<>]=?|[<>]=?\s*\S*(clock|monotonic)\(\)|deadline\s*=\s*\S*(clock|monotonic)\(\)",
                         line):
                offenders.append("plugins/%s:%d: %s" % (relative, number, line.strip()))
    assert not offenders, "deadline loops outside _wait.py:\n" + "\n".join(offenders)


def _names_in_document(relative):
    """The ways the document may name a file: any tail of its path (``spp/_client.py``) that names no other file."""
    parts = relative.split("/")
    tails = ["/".join(parts[index:]) for index in range(len(parts))]
    return [tail for tail in tails if sum(1 for other in FILES if ("/" + other).endswith("/" + tail)) == 1]


def test_the_architecture_document_lists_every_file_and_its_layer():
    with open(ARCHITECTURE, encoding="utf-8") as handle:
        text = handle.read()
    missing = [relative for relative in FILES
               if not any("`%s`" % name in text for name in _names_in_document(relative))]
    assert not missing, "docs/architecture.md does not describe: %s" % ", ".join(missing)
    for layer, allowed in ALLOWED.items():
        if layer == "docs":
            continue
        line = re.search(r"^\|\s*%s\s*\|([^|]*)\|" % layer, text, re.M)
        assert line, "docs/architecture.md has no row for layer %s in its import table" % layer
        documented = {word.strip("` ") for word in line.group(1).split(",") if word.strip("` ")}
        assert documented == {name.replace("pure-answers", "spp/answers") for name in allowed}, (
            "docs/architecture.md says layer %s may import %s; the test allows %s" % (layer, sorted(documented),
                                                                                      sorted(allowed)))
