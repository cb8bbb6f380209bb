"""The dApp compiles against the API's own OpenAPI document: web/src/api/schema.ts must be what
`make web-schema` generates from the current API (regenerate it when a route or model changes)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from api.app import create_app
from chain.toolchain import PROJECT_ROOT
from skillchain.settings import Settings

WEB = PROJECT_ROOT / "web"


def test_the_dapps_api_types_match_the_api(tmp_path: Path) -> None:
    document = tmp_path / "openapi.json"
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'api.db'}")  # type: ignore[call-arg]
    document.write_text(json.dumps(create_app(settings).openapi(), indent=1, sort_keys=True))
    generated = tmp_path / "schema.ts"
    subprocess.run(
        [
            str(WEB / "node_modules" / ".bin" / "openapi-typescript"),
            str(document),
            "--default-non-nullable",
            "false",
            "-o",
            str(generated),
        ],
        check=True,
        capture_output=True,
        cwd=WEB,
    )
    committed = (WEB / "src" / "api" / "schema.ts").read_text()
    assert generated.read_text() == committed, (
        "the API changed: run `make web-schema` and commit web/src/api/schema.ts"
    )
