# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""save_result: write ``content`` to the file ``dest`` on the controller (mode 0600); never a change.

The integration targets save what a task registered for the test that ran the play (``results_file``). They did it
with ``ansible.builtin.copy``, which runs two modules (stat, then copy) in processes of their own: about a second of
CPU per play, as much as the module under test. This action writes the file in the controller's own process. The
tests put its directory in ``ANSIBLE_ACTION_PLUGINS`` (``conftest.Environment.command_env``).
"""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True  # the test's record is written in check mode too

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        content, dest = self._task.args["content"], self._task.args["dest"]
        descriptor = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(str(content))
        result.update(changed=False, dest=dest)
        return result
