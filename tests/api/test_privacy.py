"""Every table that holds a wallet's off-chain data is exported by /me/export and erased by DELETE
/me (or kept with a stated reason); a new table with an address column that is in neither list fails."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import String, insert

import db.auth
import db.chain
import db.credentials
import db.documents
import db.market
import db.outbox
import db.payments
from api.routes.account import ERASURE, KEPT, PERSONAL_TABLES, PUBLIC_CHAIN_STATE
from db.metadata import metadata
from tests.api.siwe_helpers import ADDRESS
from tests.api.test_auth_routes import sign_in

# every owner's tables loaded
assert db.auth and db.chain and db.credentials and db.documents and db.market and db.outbox and db.payments


def _address_columns() -> dict[str, list[str]]:
    return {
        t.name: [c.name for c in t.columns if isinstance(c.type, String) and c.type.length == 42]
        for t in metadata.sorted_tables
    }


def test_every_table_with_an_address_column_is_exported_or_public_chain_state() -> None:
    personal = {table.name for table, _ in PERSONAL_TABLES.values()}
    unaccounted = [
        name
        for name, columns in _address_columns().items()
        if columns and name not in personal and name not in PUBLIC_CHAIN_STATE
    ]
    assert unaccounted == [], f"add these tables to PERSONAL_TABLES or PUBLIC_CHAIN_STATE: {unaccounted}"
    # ...and each personal table says how DELETE /me treats it: erased, a custom rule, or a kept reason.
    for name in PERSONAL_TABLES:
        assert ERASURE.get(name) in {"all", "custom", *KEPT}, name


def test_issuer_profile_and_vouchers_are_exported_and_erased(client: TestClient) -> None:
    token = sign_in(client).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    engine = client.app.state.engine  # type: ignore[attr-defined]
    now = int(time.time())
    with engine.begin() as conn:
        conn.execute(
            insert(db.credentials.issuer_profiles).values(
                address=ADDRESS, name="Ada's Academy", website="https://ada.example", updated_at=now
            )
        )
        for signature in (None, "0x" + "ab" * 65):
            conn.execute(
                insert(db.credentials.vouchers).values(
                    chain_id=31337,
                    issuer=ADDRESS,
                    recipient="0x" + "11" * 20,
                    voucher="{}",
                    metadata_cid="bafkreiexample",
                    signature=signature,
                    created_at=now,
                )
            )
    exported = client.get("/me/export", headers=auth).json()
    assert exported["issuer_profile"]["name"] == "Ada's Academy"
    assert len(exported["vouchers"]) == 2
    assert set(exported["tables"]) == set(PERSONAL_TABLES)  # every registered table is exported
    assert all("token_hash" not in s for s in exported["sessions"])
    erased = client.request("DELETE", "/me", headers=auth).json()
    assert erased["erased"]["issuer_profile"] == 1
    assert erased["erased"]["vouchers"] == 1  # the unsigned one; the signed one is the recipient's now
    assert "signed_vouchers_you_issued" in erased["kept"] and set(erased["kept"]) == set(KEPT)
