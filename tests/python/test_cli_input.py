"""The command lines take input without losing it and stop quietly when their reader does:
`--properties` from a file or stdin (past the OS's argument limit), duplicate keys and integers
that JSON numbers would round refused by name, and `| head` ending the output without an error."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any, Dict, List

from conftest import binary


def env(sandbox: Any) -> Dict[str, str]:
    return {**os.environ, "KLAVIYO_BASE_URL": sandbox.url, "KLAVIYO_API_KEY": sandbox.key}


def track(sandbox: Any, properties: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    command: List[str] = [binary("klaviyo-client"), "--action", "track-event", "--email", "big@example.com", "--event", "Big", "--properties", properties]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, env=env(sandbox), timeout=60)


def recorded_properties(sandbox: Any) -> List[Dict[str, Any]]:
    request = urllib.request.Request(f"{sandbox.url}/api/events", headers={"Authorization": f"Klaviyo-API-Key {sandbox.key}", "revision": "2026-07-15", "accept": "application/vnd.api+json"})
    with urllib.request.urlopen(request) as r:
        return [e["attributes"]["event_properties"] for e in json.loads(r.read())["data"]]


def test_properties_from_a_file_and_from_stdin(sandbox: Any, tmp_path: Path) -> None:
    blob = "x" * 200_000  # beyond the 128 KiB a single argument may hold
    path = tmp_path / "props.json"
    path.write_text(json.dumps({"blob": blob, "sku": "A"}))
    done = track(sandbox, f"@{path}")
    assert done.returncode == 0, done.stderr
    done = track(sandbox, "-", stdin=json.dumps({"sku": "B"}))
    assert done.returncode == 0, done.stderr
    got = sorted(recorded_properties(sandbox), key=lambda p: p["sku"])
    assert got[0]["sku"] == "A" and len(got[0]["blob"]) == 200_000 and got[1]["sku"] == "B"
    missing = track(sandbox, f"@{tmp_path / 'nope.json'}")
    assert missing.returncode == 2 and "nope.json" in missing.stderr


def test_duplicate_keys_and_inexact_integers_are_refused_by_name(sandbox: Any) -> None:
    twice = track(sandbox, '{"sku": "A", "sku": "B"}')
    assert twice.returncode == 2 and 'the key "sku" is given twice' in twice.stderr, twice.stderr
    big = track(sandbox, '{"order": 123456789012345678901234567890}')
    assert big.returncode == 2 and "123456789012345678901234567890" in big.stderr and "as a string" in big.stderr, big.stderr
    assert sandbox.state()["events"] == 0, "nothing was sent"


def test_a_closed_pipe_ends_the_output_quietly(sandbox: Any) -> None:
    for i in range(5):
        track(sandbox, json.dumps({"i": i}))
    # The reader is gone before the tool writes a byte: every write fails with EPIPE.
    process = subprocess.Popen([binary("klaviyo-client"), "--action", "list-metrics", "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(sandbox))
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 141
    assert stderr == b"", stderr
