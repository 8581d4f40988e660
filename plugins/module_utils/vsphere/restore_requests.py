# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The records of replacing restores in progress: one custom attribute on vCenter's root folder.

Considered private: only this collection may import it. A production restore (or a promotion) replaces a VM. From its
first change to its last step, a crash must leave something that a re-run reads to resume instead of starting again:
the request record (``pure/restore_markers.new_request_record``: the request key, the recovery point, the policies of
the replaced VM, the step reached, the restore session). It cannot live on the replaced VM, which an overwrite
destroys, nor on the restored VM, which does not exist yet; so the records live on the root folder, one JSON object
keyed by the source's instance UUID. A record is removed once the restored VM carries its final marker.

A write reads the object, changes one key, writes it and reads it back: a concurrent write of another record (another
play restoring another VM at the same moment) is detected and the write is made again.
"""

from __future__ import annotations

import json

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import TaskFailed
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere._client import vim
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere.vms import marker_field_key, marker_value

REQUESTS_FIELD = "sovereign.vm_backup.restore_requests"
WRITE_ATTEMPTS = 3


def _decode(text):
    try:
        records = json.loads(text) if text else {}
    except ValueError:
        return {}
    return records if isinstance(records, dict) else {}


def _read(client, key):
    values = [(value.key, getattr(value, "value", None)) for value in client.content.rootFolder.customValue or []]
    return _decode(marker_value(values, key))


def read_records(client):
    """Every request record in progress, by source key; ``{}`` when none was ever written."""
    key = marker_field_key(client, name=REQUESTS_FIELD, mo_type=vim.Folder)
    return _read(client, key) if key is not None else {}


def write_record(client, source_key, record):
    """Set (or, with ``record`` None, remove) the record of ``source_key``; returns the record written."""
    key = marker_field_key(client, create=True, name=REQUESTS_FIELD, mo_type=vim.Folder)
    manager = client.content.customFieldsManager
    for _attempt in range(WRITE_ATTEMPTS):
        records = _read(client, key)
        if record is None:
            if source_key not in records:
                return None
            records.pop(source_key)
        else:
            records[source_key] = record
        manager.SetField(entity=client.content.rootFolder, key=key,
                         value=json.dumps(records, separators=(",", ":"), sort_keys=True))
        if _read(client, key).get(source_key) == record:
            return record
    raise TaskFailed("could not write the restore request record of %s on vCenter's root folder (custom attribute %s): "
                     "another writer kept changing it" % (source_key, REQUESTS_FIELD))
