#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: coverage_report
short_description: Write the backup coverage of VMs as JSON, CSV and a self-contained HTML page
version_added: 0.2.0
description:
  - Renders the result of M(sovereign.vm_backup.backup_inventory) as files a person or a tool can read, in O(dest)
    - C(coverage.json) (the data), C(coverage.csv) (one row per VM, for a spreadsheet) and C(coverage.html)
    (one page with summary cards, charts, the policies and a sortable, filterable table of VMs).
  - The HTML page is a single file that loads nothing from anywhere (no CDN, font or image URL), so it can be mailed
    or archived as is. Its Content-Security-Policy forbids any network access.
  - Filters select the VMs (by policy, by date of the last good backup); the summary counts and the per-policy table
    are recounted over the selected VMs. The job outcomes are those of the whole backup server.
  - The module makes no connection to vCenter or the backup server. Run it where the files must go, usually
    C(localhost) (C(delegate_to) is yours to choose).
  - Each file is written atomically (a temporary file renamed into place), and only when its content changes. The
    generation time is left out of that comparison, so re-running with the same data reports no change.
author:
  - sovereign.vm_backup maintainers (@sovereign-cloud)
extends_documentation_fragment:
  - sovereign.vm_backup.attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is written; C(changed) and RV(changed_files) tell which files would be.
  diff_mode:
    support: full
    details: The diff lists each file as it is and as it would be (absent, outdated, new, rewritten, up to date).
  idempotent:
    support: full
    details: A file is rewritten only when its content would differ, ignoring the report's generation time.
  action_group:
    support: none
    membership: []
    details: It connects to nothing, so it is not in the group C(sovereign.vm_backup.all) whose C(module_defaults) set
      connection options.
notes:
  - In the CSV file a cell that starts with V(=), V(+), V(-), V(@), a tab or a carriage return gets a leading
    apostrophe, so that a spreadsheet shows it as text instead of running it as a formula. A cell that starts with an
    apostrophe gets one more, so that a program reading the file drops one leading apostrophe and has the value back.
    The JSON file has the values unchanged.
options:
  coverage:
    description:
      - The registered result of M(sovereign.vm_backup.backup_inventory), with its compliance keys (C(flags),
        C(reasons), C(last_backup), and C(summary)).
    type: dict
    required: true
  dest:
    description:
      - Directory the files are written to. It is created when missing.
    type: path
    required: true
  formats:
    description:
      - Which files to write.
    type: list
    elements: str
    choices: [json, csv, html]
    default: [json, csv, html]
  policies:
    description:
      - Keep only the VMs that have one of these SLA policies, at VM level or on one of their disks (held policies
        included).
      - Empty keeps every VM.
    type: list
    elements: str
    default: []
  backed_up_since:
    description:
      - Keep only the VMs whose last good backup is at or after this time.
      - A date (V(2026-11-20), midnight UTC) or an ISO 8601 time (V(2026-11-20T08:00:00Z); without a zone it is
        UTC).
      - VMs never backed up are dropped.
    type: str
  backed_up_before:
    description:
      - Keep only the VMs whose last good backup is before this time, B(and the VMs never backed up) (they have no
        backup after it either). Use it to list what has not been backed up since a date.
      - Same formats as O(backed_up_since).
    type: str
  title:
    description:
      - Title of the HTML page.
    type: str
    default: Backup coverage
seealso:
  - module: sovereign.vm_backup.backup_inventory
"""

EXAMPLES = r"""
- name: Read the coverage, jobs included
  sovereign.vm_backup.backup_inventory:
    rpo: 24h
  register: coverage

- name: Write coverage.json, coverage.csv and coverage.html
  sovereign.vm_backup.coverage_report:
    coverage: "{{ coverage }}"
    dest: /srv/reports/backup
    title: Backup coverage - production
  delegate_to: localhost
  register: report

- name: A CSV of the Gold VMs not backed up since the first of the month (or never)
  sovereign.vm_backup.coverage_report:
    coverage: "{{ coverage }}"
    dest: /srv/reports/gold-late
    formats: [csv]
    policies: [Gold]
    backed_up_before: "2026-11-01"

- name: Show where the page is
  ansible.builtin.debug:
    msg: "Open {{ report.files.html }}"
"""

RETURN = r"""
files:
  description: Path of each file of the report, by format, whether it was rewritten or already up to date.
  returned: always
  type: dict
  sample: {"json": /srv/reports/backup/coverage.json, "csv": /srv/reports/backup/coverage.csv,
           "html": /srv/reports/backup/coverage.html}
changed_files:
  description: Paths of the files that were written (in check mode, would be written).
  returned: always
  type: list
  elements: str
summary:
  description:
    - The summary of the report, recounted over the VMs the filters kept (the C(summary) of
      M(sovereign.vm_backup.backup_inventory), same keys).
  returned: always
  type: dict
  sample: {"vms": 12, "compliant": 9, "non_compliant": 3, "flags": {"unprotected": 2, "stale": 1}}
filters:
  description: The filters applied, times normalised to ISO 8601 UTC; null when not set.
  returned: always
  type: dict
  sample: {"policies": [Gold], "backed_up_since": null, "backed_up_before": "2026-11-01T00:00:00Z"}
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _module
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import coverage_report
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import VmBackupError


def _read(path):
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def _write(module, path, content):
    handle, temporary = tempfile.mkstemp(prefix=".coverage-", dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(to_bytes(content))
        module.atomic_move(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            coverage=dict(type="dict", required=True),
            dest=dict(type="path", required=True),
            formats=dict(type="list", elements="str", choices=list(coverage_report.FORMATS), default=list(coverage_report.FORMATS)),
            policies=dict(type="list", elements="str", default=[]),
            backed_up_since=dict(type="str"),
            backed_up_before=dict(type="str"),
            title=dict(type="str", default=coverage_report.DEFAULT_TITLE),
        ),
        supports_check_mode=True,
    )

    def work():
        params = module.params
        report = coverage_report.build_report(params["coverage"], policies=params["policies"],
                                              backed_up_since=params["backed_up_since"],
                                              backed_up_before=params["backed_up_before"])
        dest = params["dest"]
        files, changed_files, before, after = {}, [], [], []
        for fmt in coverage_report.FORMATS:
            if fmt not in params["formats"]:
                continue
            path = os.path.join(dest, coverage_report.FILE_NAMES[fmt])
            files[fmt] = path
            content = coverage_report.render(report, fmt, params["title"])
            existing = _read(path) if os.path.exists(path) else None
            if existing is not None and coverage_report.comparable(fmt, existing) == coverage_report.comparable(fmt, content):
                before.append("%s: up to date" % path)
                after.append("%s: up to date" % path)
                continue
            changed_files.append(path)
            before.append("%s: %s" % (path, "outdated" if os.path.exists(path) else "absent"))
            after.append("%s: %s" % (path, "rewritten" if os.path.exists(path) else "new"))
            if not module.check_mode:
                try:
                    if not os.path.isdir(dest):
                        os.makedirs(dest)
                    _write(module, path, content)
                except OSError as error:
                    raise VmBackupError("cannot write %s: %s" % (path, error), path=path)
        return dict(changed=bool(changed_files), files=files, changed_files=changed_files, summary=report["summary"],
                    filters=report["filters"],
                    diff=dict(before_header=dest, after_header=dest, before="\n".join(before) + "\n",
                              after="\n".join(after) + "\n"))

    _module.run(module, work)


if __name__ == "__main__":
    main()
