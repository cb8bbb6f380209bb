"""Benchmark: the dApp's first load in Debian's Chromium over loopback — first contentful paint and
the JavaScript a first visit downloads (gzipped) — against a baseline in the same run: the same
page shell and stylesheet with no JavaScript, served by a plain static file server.

The dApp is served by the production app (api.app.create_app, uvicorn) over a private anvil with the
contracts deployed, as `make run` does; every load is a new browser context (a cold cache). Targets
(issue #24): first load <= 250 KB of gzipped JavaScript, first contentful paint <= 1 s.

    .venv/bin/python bench/dapp_load.py [--loads 20]
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from web3 import Web3  # noqa: E402

from api.app import create_app  # noqa: E402
from chain.compile_if_needed import ensure_compiled  # noqa: E402
from chain.deploy import DeployParams, deploy  # noqa: E402
from chain.localchain import LocalChain  # noqa: E402
from chain.tx import Sender, anvil_account  # noqa: E402
from db.engine import make_engine  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from skillchain.settings import Settings  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FCP = "() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_app(data: Path, anvil_port: int) -> tuple[str, uvicorn.Server]:
    url = f"sqlite:///{data / 'api.db'}"
    upgrade(make_engine(url))
    port = free_port()
    settings = Settings(  # type: ignore[call-arg]
        data_dir=data, database_url=url, anvil_port=anvil_port, api_port=port, payments_worker=False
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error", access_log=False)
    )
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(200):
        if server.started:
            return f"http://127.0.0.1:{port}", server
        time.sleep(0.05)
    raise SystemExit("the API did not start")


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


def serve_baseline(folder: Path) -> tuple[str, http.server.ThreadingHTTPServer]:
    """The dApp's own index.html and stylesheet, its script tag removed, from a static server."""
    dist = ROOT / "web" / "dist"
    shutil.copytree(dist / "assets", folder / "assets")
    shell = (dist / "index.html").read_text()
    start = shell.index('<script type="module"')
    shell = shell[:start] + shell[shell.index("</script>", start) + len("</script>") :]
    shell = shell.replace('<div id="root"></div>', '<div id="root"><main><h1>Find a mentor</h1></main></div>')
    (folder / "index.html").write_text(shell)
    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=20)
    args = parser.parse_args()
    if not (ROOT / "web" / "dist" / "index.html").exists():
        raise SystemExit("build the dApp first: make setup")
    ensure_compiled()
    data = Path(tempfile.mkdtemp(prefix="sc-dapp-load-"))
    chain = LocalChain(data_dir=data, port=free_port(), chain_id=31337)
    chain.start()
    try:
        w3 = Web3(Web3.HTTPProvider(chain.url))
        params = DeployParams(
            admin_delay=0,
            arbiters=[anvil_account(9).address],
            review_minimums={"eth": 1},
            test_stablecoin=True,
            verification_inputs=False,
        )
        deploy(
            Sender(w3, anvil_account(0)),
            params,
            data_dir=data,
            deployments_dir=data / "none",
            log=lambda _m: None,
        )
        app_url, app_server = serve_app(data, chain.port)
        base_url, base_server = serve_baseline(data / "baseline")
        results: dict[str, list[float]] = {"app": [], "baseline": [], "ready": []}
        script_bytes: dict[str, int] = {}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            for i in range(args.loads):  # interleaved, so machine noise hits both alike
                for name, url in (("app", app_url), ("baseline", base_url)):
                    context = browser.new_context()
                    page = context.new_page()
                    if name == "app" and i == 0:
                        page.on(
                            "response",
                            lambda r: (
                                script_bytes.__setitem__(r.url, len(gzip.compress(r.body(), 9)))
                                if r.request.resource_type == "script"
                                else None
                            ),
                        )
                    t0 = time.perf_counter()
                    page.goto(url + "/")
                    page.get_by_role("heading", name="Find a mentor", level=1).wait_for()
                    if name == "app":
                        results["ready"].append((time.perf_counter() - t0) * 1000)
                        page.wait_for_load_state("networkidle")
                    for _ in range(50):
                        fcp = page.evaluate(FCP)
                        if fcp is not None:
                            break
                        page.wait_for_timeout(20)
                    results[name].append(float(fcp))
                    context.close()
            browser.close()
        app_server.should_exit = True
        base_server.shutdown()
    finally:
        chain.stop()
    total_kb = sum(script_bytes.values()) / 1024
    print(f"{args.loads} cold loads of / in headless Chromium over loopback")
    print(f"first-load JavaScript: {len(script_bytes)} file(s), {total_kb:.1f} KB gzipped (target <= 250 KB)")
    print(f"{'':40} {'p50 ms':>8} {'p99 ms':>8}")
    print(
        f"{'first contentful paint, the dApp':40} {p(results['app'], 0.5):8.0f} {p(results['app'], 0.99):8.0f}"
    )
    print(
        f"{'first contentful paint, shell without JS':40} {p(results['baseline'], 0.5):8.0f} {p(results['baseline'], 0.99):8.0f}"
    )
    print(
        f"{'the dApp: until its h1 is shown':40} {p(results['ready'], 0.5):8.0f} {p(results['ready'], 0.99):8.0f}"
    )
    ratio = statistics.median(results["app"]) / statistics.median(results["baseline"])
    print(f"ratio (median dApp / median shell): {ratio:.1f}x   target: dApp FCP <= 1000 ms")


if __name__ == "__main__":
    main()
