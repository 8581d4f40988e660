"""An emulator of the IBM Storage Protect Plus (SPP) REST API for the sovereign.vm_backup test bed.

It serves the calls described in spp-api.md (section 14 where the public record is silent), keeps its state in
memory and drives a vCenter (the govmomi simulator in the lab) through pyVmomi, as the real product does.
Run it with ``PYTHONPATH=tests/emulators/spp python -m spp_emulator --help``.
"""

from __future__ import annotations

API_VERSION = "10.1.17"
