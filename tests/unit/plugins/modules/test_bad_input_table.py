# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bad-input table (issue 14, part 6), module by module, in-process: every ``args`` row of
``tests/tables/bad_input_rows.py`` runs the module's ``main()`` with that input, and must fail with the expected
fragment, report no change, and build no client (so it called no server). The rows that need the servers, the
inventory plugin, the roles and a sample of these rows run against the lab in ``tests/integration/test_bad_input.py``,
which proves there that nothing changed on either server.

The table is printed at the end (also with -q) with its count and the defects it found, and written to
``tests/output/bad_input_table.txt``.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
from unittest import mock

from ansible.module_utils import basic

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _connection

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
sys.path.insert(0, os.path.join(ROOT, "tests", "tables"))
from bad_input_rows import ALL_ROWS, TABLE, table_text  # noqa: E402  pylint: disable=wrong-import-position

OUTPUT = os.path.join(ROOT, "tests", "output")
ROWS = [row for rows in TABLE.values() for row in rows if row.before == "args"]
# Connection options from the environment, as a task would have them: every row is otherwise complete.
ENVIRONMENT = {"SPP_URL": "https://spp.invalid", "SPP_USERNAME": "u", "SPP_PASSWORD": "Not-a-real-pw-1",
               "VMWARE_HOST": "vcenter.invalid", "VMWARE_USER": "u", "VMWARE_PASSWORD": "Not-a-real-pw-2"}

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core before 2.19
    @contextlib.contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()):
            yield


class ClientBuilt(BaseException):
    """A client was built for the row: the module would have called a server. BaseException, so that no handler of
    the module can take it for one of its own errors."""


def run_module(name, args, monkeypatch, capsys):
    """The result ``main()`` of module ``name`` exits with for ``args``; None when it built a client first."""
    module = importlib.import_module("ansible_collections.sovereign.vm_backup.plugins.modules.%s" % name)

    def no_client(*_args, **_kwargs):
        raise ClientBuilt()

    monkeypatch.setattr(_connection, "spp_client_from_params", no_client)
    monkeypatch.setattr(_connection, "vsphere_client_from_params", no_client)
    for variable, value in ENVIRONMENT.items():
        monkeypatch.setenv(variable, value)
    capsys.readouterr()
    with patch_module_args(args):
        try:
            module.main()
        except SystemExit:
            pass
        except ClientBuilt:
            return None
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


def print_table(request, lines):
    """Print the table (also with -q) and write it to tests/output/bad_input_table.txt."""
    text = table_text("bad-input table, module argument checks", lines)
    others = [row for row in ALL_ROWS if row.before != "args" or "(" in row.module]
    text += ("plus %d rows that need the servers, the inventory plugin or a role, run against the lab by "
             "tests/integration/test_bad_input.py (%d of them found a defect): %d inputs tried in all, %d defects "
             "found and fixed\n" % (len(others), sum(1 for row in others if row.defect), len(ALL_ROWS),
                                    sum(1 for row in ALL_ROWS if row.defect)))
    os.makedirs(OUTPUT, exist_ok=True)
    with open(os.path.join(OUTPUT, "bad_input_table.txt"), "w", encoding="utf-8") as handle:
        handle.write(text)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        sys.stderr.write("\n" + text)
        sys.stderr.flush()


def refused_by_ansible_type_check(row, message):
    """ansible-core 2.17 (the oldest that the collection supports) refuses ``null`` for a ``str`` option in its own type check, before the module's
    checks run: the option is still refused before any call, in Ansible's words, which name the option."""
    return row.value is None and ("argument '%s' is of type <class 'NoneType'>" % row.option) in message


def row_problems(row, monkeypatch, capsys, tmp_path):
    args = dict(row.args)
    if args.get("dest") == "DEST":
        args["dest"] = str(tmp_path / ("report-%d" % id(row)))
    result = run_module(row.module, args, monkeypatch, capsys)
    if result is None:
        return ["a client was built: the module would have called a server"]
    problems = []
    message = str(result.get("msg") or "")
    if not result.get("failed"):
        problems.append("the task did not fail")
    if row.expect not in message and not refused_by_ansible_type_check(row, message):
        problems.append("the error does not say %r: %s" % (row.expect, message[:300]))
    if result.get("changed"):
        problems.append("the task reported a change")
    if args.get("dest") and os.path.exists(args["dest"]):
        problems.append("report files were written")
    return problems


def test_every_bad_input_is_refused_before_any_call(request, monkeypatch, capsys, tmp_path):
    """One test for the whole table, so that it is printed whole whatever the number of workers."""
    lines = [(row, row_problems(row, monkeypatch, capsys, tmp_path)) for row in ROWS]
    print_table(request, lines)
    failures = ["%s: %s" % (row.key, "; ".join(problems)) for row, problems in lines if problems]
    assert not failures, "\n".join(failures)
