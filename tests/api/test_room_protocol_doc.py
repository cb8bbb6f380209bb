"""docs/room-protocol.schema.json is the protocol the code speaks (regenerate: `make room-schema`)."""

from __future__ import annotations

import json
from pathlib import Path

from api.room.protocol import CLIENT_FRAMES, CLOSE_CODES, schemas

DOC = Path(__file__).resolve().parents[2] / "docs" / "room-protocol.schema.json"


def test_the_published_schema_is_current() -> None:
    assert json.loads(DOC.read_text()) == json.loads(json.dumps(schemas())), "run `make room-schema`"


def test_every_close_code_is_documented_in_words() -> None:
    text = (DOC.parent / "room.md").read_text()
    for code in CLOSE_CODES:
        assert f"| {code} |" in text, code
    for name in CLIENT_FRAMES.json_schema()["$defs"]:
        if name != "IceCandidate":
            assert f"`{name.lower()}`" in text, name
