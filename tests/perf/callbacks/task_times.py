# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A callback for the benchmarks: the duration and the result of every task, written as JSON when the play ends.

Enable it with ``ANSIBLE_CALLBACK_PLUGINS=tests/perf/callbacks ANSIBLE_CALLBACKS_ENABLED=task_times`` and name the
output file with ``BENCH_TASK_TIMES``. It works with any ansible-core since 2.10 and times what a task costs, from
its start to its result on the controller, without ansible-playbook's own start-up.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: task_times
type: aggregate
short_description: Write each task's duration and result to the JSON file named by BENCH_TASK_TIMES
description:
  - For tests/perf only. Tasks are timed from their start to the result's arrival on the controller.
requirements:
  - BENCH_TASK_TIMES in the environment
"""

OUTPUT_VARIABLE = "BENCH_TASK_TIMES"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._started = {}
        self._tasks = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = time.perf_counter()  # pylint: disable=protected-access

    def _record(self, result, status):
        ended = time.perf_counter()
        task = result._task  # pylint: disable=protected-access
        started = self._started.get(task._uuid, ended)  # pylint: disable=protected-access
        self._tasks.append({"name": task.get_name(), "action": task.action, "status": status,
                            "seconds": ended - started, "result": result._result})  # pylint: disable=protected-access

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get(OUTPUT_VARIABLE)
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump({"tasks": self._tasks}, handle, default=str)
