"""The two profiles of the emulator, chosen at start with ``--profile`` (spp-api.md 14.17).

``default`` implements the decisions of spp-api.md section 14 where the public record is silent. ``public-record``
implements only what IBM's public code shows, and is strict about it. The strictness that the record makes clear
(exact map keys, copy and protectionTime of a pinned point, subtype spellings, postRestoreInfo as an object, PENDING
test restores) belongs to both and is not switched here. The README lists every point with its public source.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT = "default"
PUBLIC_RECORD = "public-record"
NAMES = (DEFAULT, PUBLIC_RECORD)


@dataclass(frozen=True)
class Profile:
    name: str

    @classmethod
    def named(cls, name: str) -> Profile:
        if name not in NAMES:
            raise ValueError(f"unknown profile {name!r}; use one of {', '.join(NAMES)}")
        return cls(name)

    @property
    def public_record(self) -> bool:
        return self.name == PUBLIC_RECORD

    # --- test restores (spp-api.md 14.9) ---------------------------------------------------------------------

    @property
    def cleanup_action(self) -> str:
        """The link that ends a test restore: ECX's ``end_iv`` (the only name on record), or ``cleanup``."""
        return "end_iv" if self.public_record else "cleanup"

    @property
    def test_actions(self) -> tuple[str, ...]:
        return (self.cleanup_action, "rrp", "clone")

    def internal_action(self, link_name: str) -> str | None:
        """cleanup, rrp or clone for a test-restore link name of this profile; None for any other name."""
        if link_name not in self.test_actions:
            return None
        return "cleanup" if link_name == self.cleanup_action else link_name

    # --- what the public record does not show (spp-api.md 14.17) -----------------------------------------------

    @property
    def session_id_in_answers(self) -> bool:
        """adhoc and restore answer only ``response.name`` and ``response.id`` on record (samples/vmware_restore.py)."""
        return not self.public_record

    @property
    def hold_links(self) -> bool:
        """No hold/release endpoint is on record (spp-api.md 13.4)."""
        return not self.public_record

    @property
    def session_totals(self) -> bool:
        """``total`` of job-session listings is 0 on record (IBM APAR IT45897)."""
        return not self.public_record

    @property
    def vm_protection_info(self) -> bool:
        """VM listings carry ``protectionInfo: {}`` on record (spp-api.md 2.2)."""
        return not self.public_record

    @property
    def invented_routes(self) -> bool:
        """The vdisk search and the hypervisor-wide /network listing exist only in the emulator."""
        return not self.public_record

    @property
    def copy_site_link(self) -> bool:
        """Copies name their site by ``siteId`` only on record (samples/sqlrestore.py)."""
        return not self.public_record

    @property
    def start_needs_actionname(self) -> bool:
        """A job start sends ``actionname`` from the start schema on record (spplib/sdk/client.py JobAPI.run)."""
        return self.public_record

    @property
    def start_answer_names_session(self) -> bool:
        """On record, the start answer does not name the new session ("we need to query to get it")."""
        return not self.public_record
