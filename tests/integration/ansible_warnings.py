# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The warnings in an ansible command's output that are about this collection.

Tests used to demand an empty stderr, and so failed the day a third party deprecated something: cryptography 51 warns
about DSA from inside ansible-core, in every command. A test fails on warnings that are ours:

- a Python warning raised from a file of this collection (its path lies under ``ansible_collections/sovereign/
  vm_backup/``, or under this checkout's plugins, roles or playbooks, which the collection path links to; the
  checkout's ``.venv`` is not the collection);
- an Ansible ``[WARNING]`` or ``[DEPRECATION WARNING]`` whose text names the collection, a file of it, one of its
  modules or roles, or one of its options (an option name with an underscore: ``name`` or ``state`` alone names
  nothing in particular).

A DeprecationWarning raised inside ansible-core, cryptography or any other package is somebody else's.
"""

from __future__ import annotations

import ast
import glob
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTION = "sovereign.vm_backup"
PYTHON_WARNING = re.compile(r"^(?P<path>\S+\.py):\d+: (?P<category>\w*Warning): ")
ANSIBLE_WARNING = re.compile(r"^\s*\[(?:DEPRECATION )?WARNING\]:")


def _documented_options(path):
    """Every option name in the documentation strings of a plugin or doc fragment, suboptions included."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str) and any(isinstance(t, ast.Name) for t in node.targets)):
            continue
        try:
            document = yaml.safe_load(node.value.value)
        except yaml.YAMLError:
            continue
        pending = [document.get("options") or {}] if isinstance(document, dict) else []
        while pending:
            options = pending.pop()
            for name, spec in options.items():
                yield name
                pending.append((spec or {}).get("suboptions") or {})


def collection_names(root=ROOT):
    """The words that name this collection's parts: plugins, roles and distinctive option names."""
    names = set()
    for path in glob.glob(os.path.join(root, "plugins", "*", "*.py")):
        if os.path.basename(os.path.dirname(path)) == "modules":
            names.add(os.path.basename(path)[:-3])
        names.update(option for option in _documented_options(path) if "_" in option)
    names.update(os.path.basename(path) for path in glob.glob(os.path.join(root, "roles", "*")))
    names.discard("__init__")
    return frozenset(names)


def _blocks(text):
    """Each Ansible warning with its continuation lines, and each other line on its own."""
    block = []
    for line in text.splitlines():
        if block and line[:1].isspace() and not ANSIBLE_WARNING.match(line):
            block.append(line)
            continue
        if block:
            yield "\n".join(block)
        block = [line]
    if block:
        yield "\n".join(block)


def our_warnings(text, root=ROOT):
    """The warnings in ``text`` (an ansible command's stdout or stderr) that are about this collection."""
    names = collection_names(root)
    our_paths = ("ansible_collections/sovereign/vm_backup/",) + tuple(
        os.path.join(os.path.realpath(root), content) + os.sep for content in ("plugins", "roles", "playbooks"))
    named = re.compile(r"(?<![\w.-])(?:%s)(?![\w-])" % "|".join(
        [re.escape(COLLECTION)] + [re.escape(name) for name in sorted(names, key=len, reverse=True)]))
    found = []
    for block in _blocks(text):
        python = PYTHON_WARNING.match(block)
        if python:
            path = python.group("path")
            if any(part in candidate for part in our_paths for candidate in (path, os.path.realpath(path))):
                found.append(block)
        elif ANSIBLE_WARNING.match(block) and (named.search(block) or any(part in block for part in our_paths)):
            found.append(block)
    return found
