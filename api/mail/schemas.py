from __future__ import annotations

from pydantic import BaseModel, Field

from api.models import Strict

# A practical address check (RFC 5321 lengths, one @, a dotted domain); the confirmation mail is the
# real test.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$"


class EmailIn(Strict):
    email: str = Field(max_length=254, pattern=EMAIL_PATTERN, examples=["ada@example.org"])


class EmailPublic(BaseModel):
    email: str
    confirmed: bool = Field(description="false until the link in the confirmation mail was followed")
    subscribed: bool = Field(
        description="false after the one-click unsubscribe (add the address again to resume)"
    )
