# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one way to find a VM that a task names: by moref, by instance UUID, or by name. Pure.

Considered private: only this collection may import it. Records are dicts with at least ``name`` and ``moref``
(``instance_uuid``, ``folder`` and ``template`` when known): the vCenter listing, or joined inventory records.
A moref or an instance UUID names one VM. A name may be shared: then the reference is ambiguous, and the error
lists the candidates so that the user can name one by moref or instance UUID. A VM may also be named like another
VM's moref or instance UUID (a VM named ``vm-42``): that reference is ambiguous too, never silently the other VM.
Templates are never targets.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest

NOT_FOUND = "not_found"
AMBIGUOUS = "ambiguous"


def describe_candidate(record):
    """``web01 (vm-12, folder /DC0/vm/prod)``: enough to tell VMs of the same name apart."""
    folder = record.get("folder")
    return "%s (%s%s)" % (record.get("name"), record.get("moref"), ", folder %s" % folder if folder else "")


def ambiguous_message(ref, candidates):
    described = "; ".join(describe_candidate(record) for record in candidates)
    if all(record.get("name") == ref for record in candidates):
        return "%d VMs are named %s: %s; name one by moref or instance UUID" % (len(candidates), ref, described)
    return ("%d VMs answer to %s, by name or as their moref or instance UUID: %s; name one by instance UUID, or by a "
            "moref that no VM has as its name" % (len(candidates), ref, described))


def not_found_message(ref):
    return "vCenter has no VM %s (looked up by name, moref and instance UUID; templates are not VMs here)" % ref


class VmIndex:
    """Records indexed once, for many lookups (a run can name thousands of VMs)."""

    def __init__(self, records, skip_templates=True):
        self.by_id = {}
        self.by_name = {}
        for record in records:
            if skip_templates and record.get("template"):
                continue
            self.by_id[record["moref"]] = record
            if record.get("instance_uuid"):
                self.by_id[record["instance_uuid"]] = record
            self.by_name.setdefault(record.get("name"), []).append(record)

    def candidates(self, ref):
        """Every record that ``ref`` may name: the VM whose moref or instance UUID it is, and all the VMs of that name."""
        found = list(self.by_name.get(ref, []))
        identified = self.by_id.get(ref)
        if identified is not None and all(record is not identified for record in found):
            found.append(identified)
        return sorted(found, key=lambda record: record["moref"])

    def problem(self, ref):
        """None when ``ref`` names exactly one VM; else ``{"ref", "problem", "candidates", "message"}``."""
        found = self.candidates(ref)
        if len(found) == 1:
            return None
        if not found:
            return {"ref": ref, "problem": NOT_FOUND, "candidates": [], "message": not_found_message(ref)}
        return {"ref": ref, "problem": AMBIGUOUS, "candidates": [record["moref"] for record in found],
                "message": ambiguous_message(ref, found)}

    def resolve(self, ref):
        """The one record ``ref`` names; ``InvalidRequest`` (with ``candidates``) when it names none or several."""
        problem = self.problem(ref)
        if problem is not None:
            raise InvalidRequest(problem["message"], candidates=problem["candidates"])
        return self.by_id.get(ref) or self.by_name[ref][0]

    def resolve_all(self, refs):
        """``(records, problems)``: the records in the order named, without repeats, and a problem per bad ref."""
        records, problems, seen = [], [], set()
        for ref in refs:
            problem = self.problem(ref)
            if problem is not None:
                problems.append(problem)
                continue
            record = self.resolve(ref)
            if record["moref"] not in seen:
                seen.add(record["moref"])
                records.append(record)
        return records, problems

    def knows(self, ref):
        """Whether ``ref`` names at least one record (a name shared by several counts)."""
        return bool(self.candidates(ref))


def resolve_vm(ref, records):
    """The one VM that ``ref`` names among ``records``; see ``VmIndex.resolve``."""
    return VmIndex(records).resolve(ref)
