"""Schema-driven fuzzing: schemathesis generates requests from the OpenAPI spec of a running
server; no request may get a 5xx. Bounded (a few hundred examples) to keep CI fast."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.server.conftest import LiveServer

MAX_EXAMPLES = 60  # per operation; 5 operations


def test_no_server_errors(server: LiveServer, tmp_path: Path) -> None:
    st = shutil.which("schemathesis") or shutil.which("st")
    if st is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")
    cmd = [
        st,
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "5",
        "--generation-database",
        "none",
        "--request-timeout",
        "10",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    print(out[-3000:])
