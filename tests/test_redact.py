"""`skillchain config` never prints a secret."""

from __future__ import annotations

import base64
import json
import os
import subprocess

import pytest
from pydantic import SecretStr

from chain.toolchain import VENV_BIN
from skillchain.redact import MASK, redact_url, shown_setting

ALCHEMY = "https://eth-sepolia.g.alchemy.com/v2/AbCdEfGhIjKlMnOpQrStUvWxYz123456"


def test_urls_lose_passwords_and_keys() -> None:
    assert redact_url("postgresql://app:hunter2@db.internal:5432/skillchain") == (
        f"postgresql://app:{MASK}@db.internal:5432/skillchain"
    )
    assert redact_url(ALCHEMY) == f"https://eth-sepolia.g.alchemy.com/v2/{MASK}"
    assert redact_url("https://rpc.example/?apikey=ZZZZZZZZZZZZZZZZZZZZZZZZ&x=1") == (
        f"https://rpc.example/?apikey={MASK}&x=1"
    )
    assert redact_url("http://127.0.0.1:8545") == "http://127.0.0.1:8545"
    assert redact_url("postgresql://h/db?password=hunter2&sslmode=require") == (
        f"postgresql://h/db?password={MASK}&sslmode=require"
    )
    assert redact_url("https://abc123@rpc.example/") == f"https://{MASK}@rpc.example/"


def test_keys_and_secrets_are_masked_whole() -> None:
    assert shown_setting("relayer_key", "0x" + "ab" * 32) == MASK
    assert shown_setting("stripe_webhook_secret", SecretStr("whsec_x")) == MASK
    assert shown_setting("rpc_urls", {11155111: ALCHEMY})[11155111].endswith(MASK)
    assert shown_setting("fee_bps", 250) == 250


def test_config_command_prints_no_secret(tmp_path: object) -> None:
    env = os.environ | {
        "SKILLCHAIN_DATA_DIR": str(tmp_path),
        "SKILLCHAIN_DATABASE_URL": "postgresql://app:hunter2@db.internal/skillchain",
        "SKILLCHAIN_RPC_URL": ALCHEMY,
        "SKILLCHAIN_STRIPE_SECRET_KEY": "sk_test_notarealkey1234567890",
    }
    out = subprocess.run(
        [str(VENV_BIN / "skillchain"), "config", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    for secret in ("hunter2", "AbCdEfGhIjKlMnOpQrStUvWxYz123456", "sk_test_notarealkey1234567890"):
        assert secret not in out.stdout
    assert json.loads(out.stdout)["SKILLCHAIN_FEE_BPS"] == 250


def test_an_invalid_secret_setting_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from skillchain.settings import SettingsError, load_settings

    monkeypatch.setenv("SKILLCHAIN_MESSAGE_KEYS", "k1:not-base64-secret-material")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert "SKILLCHAIN_MESSAGE_KEYS" in str(refused.value) and "is not base64" in str(refused.value)
    assert "secret-material" not in str(refused.value)
    short = "k1:" + base64.b64encode(b"x" * 16).decode()
    monkeypatch.setenv("SKILLCHAIN_MESSAGE_KEYS", short)
    with pytest.raises(SettingsError, match="must be 32 bytes"):
        load_settings()
