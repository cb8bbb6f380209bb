"""Write the API's OpenAPI document to a file (default stdout). `make web-schema` turns it into the
dApp's TypeScript types (web/src/api/schema.ts); tests/web/test_schema_current.py fails when they
differ, so the dApp never compiles against an API that changed under it."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from api.app import create_app
from skillchain.settings import Settings


def main() -> None:
    # A throwaway data folder: building the app migrates its database, and a developer's own one (or a
    # stray one under web/, where npm runs this) is none of this script's business.
    with tempfile.TemporaryDirectory(prefix="sc-openapi-") as data:
        settings = Settings(data_dir=Path(data), database_url=f"sqlite:///{data}/api.db")  # type: ignore[call-arg]
        document = create_app(settings).openapi()
    text = json.dumps(document, indent=1, sort_keys=True)
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
