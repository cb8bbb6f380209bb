"""Compile only when a contract source is newer than the build manifest."""

from __future__ import annotations

from chain.toolchain import BUILD_MANIFEST, PROJECT_ROOT, compile_contracts


def sources_newer_than_build() -> bool:
    if not BUILD_MANIFEST.exists():
        return True
    built = BUILD_MANIFEST.stat().st_mtime
    sources = [p for p in (PROJECT_ROOT / "contracts").rglob("*.sol") if ".cache" not in p.parts]
    return any(p.stat().st_mtime > built for p in sources)


def ensure_compiled() -> None:
    if sources_newer_than_build():
        compile_contracts()
