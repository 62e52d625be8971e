"""Fixtures: klaviyo-sandbox processes on free 127.0.0.1 ports, and clients pointed at them."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_KEY = "pk_sandbox_not_a_real_key_0000000000"


def _binary(name: str) -> str:
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    triple = os.environ.get("CARGO_BUILD_TARGET", "")
    for candidate in [Path(target) / triple / "debug" / name, Path(target) / "debug" / name]:
        if candidate.exists():
            return str(candidate)
    raise RuntimeError(f"{name} is not built: run `make build` (cargo build -p klaviyo-sandbox -p klaviyo-cli)")


class Sandbox:
    """A running klaviyo-sandbox process."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen([_binary("klaviyo-sandbox"), "--port", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:"), self.url
        self.key = SANDBOX_KEY

    def state(self) -> Dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/__sandbox/state") as r:
            return json.loads(r.read())  # type: ignore[no-any-return]

    def settled(self) -> Dict[str, Any]:
        """The state once every bulk job is complete (the sandbox answers when it is)."""
        with urllib.request.urlopen(f"{self.url}/__sandbox/settled", timeout=120) as r:
            return json.loads(r.read())  # type: ignore[no-any-return]

    def requests(self) -> List[Dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/__sandbox/requests") as r:
            return json.loads(r.read())  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    s = Sandbox("--rate-limits", "off")
    yield s
    s.stop()


@pytest.fixture
def start_sandbox() -> Iterator[Any]:
    started: List[Sandbox] = []

    def start(*args: str) -> Sandbox:
        s = Sandbox(*args)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def client(sandbox: Sandbox) -> Any:
    from klaviyo_bridge import Client

    return Client(sandbox.key, base_url=sandbox.url)


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Tests pass keys explicitly; a developer's own .env or environment must not leak in.
    for name in ["KLAVIYO_API_KEY", "KLAVIYO_BASE_URL", "KLAVIYO_REVISION", "KLAVIYO_PUBLIC_KEY"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def binary(name: str) -> str:
    return _binary(name)
