"""Smoke test of an installed wheel (run by `make wheel-smoke` in a fresh venv, outside the source
tree): the wheel's tag, its files, a tiny index built and counted by the command line, the
server's page, API and offline /docs. Usage: python smoke_wheel.py WHEEL"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
from importlib import metadata, resources
from pathlib import Path

import anygram
import httpx


def check(ok: object, what: str) -> None:
    if not ok:
        raise SystemExit(f"smoke test failed: {what}")
    print(f"ok: {what}")


def main(wheel: str) -> None:
    name = Path(wheel).name
    check("-abi3-manylinux" in name, f"{name} is a manylinux abi3 wheel")
    here = Path(anygram.__file__).resolve()
    check("site-packages" in here.parts, f"anygram imported from the install ({here.parent})")
    pkg = resources.files("anygram")
    for f in ["py.typed", "_core.pyi", "web/index.html", "web/app.js", "web/style.css"]:
        check(pkg.joinpath(f).is_file(), f"the wheel ships anygram/{f}")
    licenses = [p for p in metadata.files("anygram") or [] if p.name == "LICENSE"]
    check(licenses and "Apache License" in licenses[0].read_text(), "the wheel ships LICENSE")

    work = Path(tempfile.mkdtemp())
    (work / "c.jsonl").write_text('{"text": "the cat sat on the mat"}\n{"text": "a cat"}\n')
    bin_dir = Path(sys.executable).parent
    run = [str(bin_dir / "anygram")]
    subprocess.run([*run, "build", str(work / "c.jsonl"), "-o", str(work / "idx"), "--quiet"],
                   check=True)  # fmt: skip
    out = subprocess.run([*run, "count", str(work / "idx"), "cat", "--json"],
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    check(json.loads(out)["count"] == 2, "anygram build + count from the installed command")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*run, "serve", "--index", f"demo={work / 'idx'}",
                               "--port", str(port), "--no-access-log"])  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                check(False, "the server starts")
            time.sleep(0.2)
        check(True, "the server starts")
        page = httpx.get(url + "/")
        check(page.status_code == 200 and "anygram" in page.text, "the web page is served")
        check(httpx.get(url + "/static/app.js").status_code == 200, "its script is served")
        r = httpx.post(url + "/", json={"index": "demo", "query_type": "count", "query": "cat"})
        check(r.json()["count"] == 2, "POST / counts")
        for doc_page in ("/docs", "/redoc"):
            html = httpx.get(url + doc_page).text
            assets = [a for a in html.split('"') if a.endswith((".js", ".css"))]
            check(assets and all(a.startswith("/") for a in assets), f"{doc_page} assets are local")
            for a in assets:
                check(httpx.get(url + a).status_code == 200, f"{a} is served")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main(sys.argv[1])
