"""The console scripts and the repo's scripts/ run the same tool as the Rust binary:
same flags, byte-identical output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

from conftest import ROOT, binary

BIN = Path(sys.executable).parent


def run(command: List[str], sandbox: Any, **env: str) -> subprocess.CompletedProcess[str]:
    environment: Dict[str, str] = {**os.environ, "KLAVIYO_BASE_URL": sandbox.url, "KLAVIYO_API_KEY": sandbox.key, **env}
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60)


def test_seed_command_lines_work_verbatim_from_the_repo_root(sandbox: Any) -> None:
    os.chdir(ROOT)
    done = run([sys.executable, "scripts/klaviyo_client.py", "--action", "track-event", "--email", "user@example.com", "--event", "Placed Order", "--properties", '{"value": 99.99, "OrderId": "ORD-123"}'], sandbox)
    assert done.returncode == 0, done.stderr
    assert "accepted" in done.stdout
    done = run([sys.executable, "scripts/dev_tools.py", "--tool", "health-check"], sandbox)
    assert done.returncode == 0 and "key_valid" in done.stdout
    assert sandbox.state()["events_per_metric"] == {"Placed Order": 1}


def test_console_scripts_match_the_rust_binaries_byte_for_byte(sandbox: Any) -> None:
    for i in range(3):
        run([str(BIN / "klaviyo-client"), "--action", "upsert-profile", "--email", f"u{i}@example.com", "--properties", '{"first_name": "U", "tier": "gold"}'], sandbox)
    commands = [
        ["--action", "export-profiles", "--format", "csv"],
        ["--action", "list-metrics", "--format", "json"],
        ["--action", "get-profile", "--email", "u1@example.com"],
        ["--action", "track-event", "--email", "u1@example.com", "--event", "X", "--unique-id", "fixed", "--format", "table"],
        ["--action", "upsert-profile"],
        ["--help"],
    ]
    for args in commands:
        python = run([str(BIN / "klaviyo-client"), *args], sandbox)
        rust = run([binary("klaviyo-client"), *args], sandbox)
        assert (python.returncode, python.stdout, python.stderr) == (rust.returncode, rust.stdout, rust.stderr), args
    python = run([str(BIN / "klaviyo-dev-tools"), "--tool", "validate-events", "--events", "X,Missing"], sandbox)
    rust = run([binary("klaviyo-dev-tools"), "--tool", "validate-events", "--events", "X,Missing"], sandbox)
    assert python.returncode == rust.returncode == 1 and python.stdout == rust.stdout
