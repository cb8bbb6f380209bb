"""What our contracts' events name, read from their decoded arguments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def engagement_named(contract: str | None, args: Mapping[str, Any]) -> int | None:
    """The engagement an event concerns: SkillEscrow's events call it `id`; Reputation's and
    SkillCredential's `engagementId` (0 there means none)."""
    value = args.get("id" if contract == "SkillEscrow" else "engagementId")
    return int(value) if isinstance(value, int) and value > 0 else None
