"""An emulator of Cloud Temple's console REST API ("Shiva") for the sovereign.vm_backup test bed.

It follows docs/cloudtemple-api.md and fronts the SPP emulator and the vSphere simulator, as the real console fronts
IBM SPP and vCenter: backup routes call SPP's REST API, compute routes drive vCenter through pyVmomi. Writes answer
201 with an activity id in Location and run asynchronously (docs/cloudtemple-api.md section 5).
Run it with ``PYTHONPATH=tests/emulators/cloudtemple:tests/emulators/spp python -m cloudtemple_emulator --help``.
"""

from __future__ import annotations

VERSION = "1.0"
