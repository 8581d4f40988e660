"""Availability zones, which no API object links to datacenters or sites (docs/cloudtemple-api.md 9, 16 inferred 7).

The console knows them; the emulator is told: ``--datacenter-zone PATTERN=ZONE`` maps vSphere datacenter names (a
glob: ``DC*=AZ05``) and ``--site-zone SITE=ZONE`` SPP site names, on the command line or through the admin API
(``POST /__emulator__/zones``). A VM's zone is its datacenter's; a policy's zone is the zone of the site of its backup
subpolicy. A name without a zone has none, and the disk-policy rule (7.2) does not apply to it.
"""

from __future__ import annotations

import fnmatch
import threading

from .errors import BadRequest


def parse_pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    pairs = {}
    for value in values or []:
        name, equals, zone = value.partition("=")
        if not equals or not name or not zone:
            raise ValueError(f"{flag} takes NAME=ZONE, got {value!r}")
        pairs[name] = zone
    return pairs


class Zones:
    def __init__(self, datacenters: dict[str, str] | None = None, sites: dict[str, str] | None = None):
        self._lock = threading.Lock()
        self._initial = (dict(datacenters or {}), dict(sites or {}))
        self.datacenters, self.sites = dict(self._initial[0]), dict(self._initial[1])

    def of_datacenter(self, name: str) -> str | None:
        with self._lock:
            return next((zone for pattern, zone in self.datacenters.items() if fnmatch.fnmatchcase(name, pattern)),
                        None)

    def of_site(self, name: str | None) -> str | None:
        with self._lock:
            return self.sites.get(name or "")

    def update(self, body: dict) -> None:
        """{"datacenters": {pattern: zone}, "sites": {name: zone}}: replaces the maps given."""
        for key in ("datacenters", "sites"):
            value = body.get(key)
            if value is not None and (not isinstance(value, dict)
                                      or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())):
                raise BadRequest(f"{key} must be an object of names to zones.")
        with self._lock:
            if body.get("datacenters") is not None:
                self.datacenters = dict(body["datacenters"])
            if body.get("sites") is not None:
                self.sites = dict(body["sites"])

    def reset(self) -> None:
        with self._lock:
            self.datacenters, self.sites = dict(self._initial[0]), dict(self._initial[1])

    def describe(self) -> dict:
        with self._lock:
            return {"datacenters": dict(self.datacenters), "sites": dict(self.sites)}
