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


def test_an_interrupted_console_script_export_keeps_the_old_file_and_resumes(start_sandbox: Any, tmp_path: Path) -> None:
    """SIGTERM reaches the Rust export through the Python interpreter: it stops with exit 143,
    the previous file untouched, and --resume finishes the full set."""
    import signal
    import time

    sandbox = start_sandbox("--rate-limits", "off", "--seed-profiles", "2000", "--latency", "15")
    output = tmp_path / "profiles.csv"
    output.write_text("the previous export\n")
    progress = tmp_path / "profiles.csv.partial.json"
    # One slice at a time (of four), so the export is stopped halfway.
    command = [str(BIN / "klaviyo-dev-tools"), "--tool", "export-data", "--resource", "profiles", "--output", str(output), "--concurrency", "1", "--quiet"]
    environment = {**os.environ, "KLAVIYO_BASE_URL": sandbox.url, "KLAVIYO_API_KEY": sandbox.key}
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (progress.exists() and '"rows":0,' not in progress.read_text()):
        assert process.poll() is None and time.monotonic() < deadline, "the export ended or stalled before its first slice"
        time.sleep(0.005)  # polling a condition, not timing a race
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "interrupted by SIGTERM" in stderr and "--resume" in stderr
    assert output.read_text() == "the previous export\n"
    resumed = subprocess.run([*command, "--resume"], env=environment, capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    ids = [line.split(",")[0] for line in output.read_text().splitlines()[1:]]
    assert len(ids) == len(set(ids)) == 2000


def test_delete_profile_asks_on_a_terminal(sandbox: Any) -> None:
    """On a terminal, delete-profile asks first; only "y" deletes."""
    import pty

    run([binary("klaviyo-client"), "--action", "upsert-profile", "--email", "keep@example.com"], sandbox)
    environment = {**os.environ, "KLAVIYO_BASE_URL": sandbox.url, "KLAVIYO_API_KEY": sandbox.key}
    for answer, code, profiles in [("n", 2, 1), ("y", 0, 0)]:
        controller, terminal = pty.openpty()
        process = subprocess.Popen([binary("klaviyo-client"), "--action", "delete-profile", "--email", "keep@example.com"], stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment, text=True)
        os.close(terminal)
        os.write(controller, f"{answer}\n".encode())
        _, stderr = process.communicate(timeout=60)
        os.close(controller)
        assert process.returncode == code, stderr
        assert "Delete keep@example.com and all its data for good? [y/N]" in stderr
        assert sandbox.state()["profiles"] == profiles
