"""The sandbox ships inside the package: `klaviyo_bridge.testing.Sandbox` and the pytest
fixtures run it in-process, with no cargo and no separate binary."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from klaviyo_bridge import Client, ValidationError
from klaviyo_bridge.testing import Sandbox


def test_a_sandbox_from_the_package_serves_clients_and_shows_its_state() -> None:
    with Sandbox(rate_limits="off", seed_profiles=30) as sandbox:
        assert sandbox.url.startswith("http://127.0.0.1:")
        client = Client(sandbox=sandbox)
        assert sum(1 for _ in client.profiles.list(page_size=7)) == 30
        client.profiles.upsert(email="new@example.com")
        assert sandbox.state()["profiles"] == 31
        assert all(sandbox.api_key not in str(r) for r in sandbox.requests())
        with pytest.raises(ValidationError):
            client.request("create_tag_group", body={"data": {"type": "tag-group", "attributes": {}}})
        sandbox.reset()
        assert sandbox.state()["profiles"] == 0 and sandbox.requests() == []
        token_client = Client(access_token=sandbox.issue_token(), base_url=sandbox.url)
        assert token_client.accounts.current().id
    with pytest.raises(RuntimeError, match="stopped"):
        sandbox.state()


def test_faults_and_settling_from_the_package() -> None:
    with Sandbox(rate_limits="off", faults="503:0.3", seed=7) as sandbox:
        client = sandbox.client(max_retries=10)
        report = client.events.bulk_create([{"email": f"u{i}@example.com", "metric": "Viewed"} for i in range(50)])
        assert report["accepted"] == 50
        assert sandbox.settled()["events_per_metric"] == {"Viewed": 50}
        assert any(r["status"] == 503 for r in sandbox.requests()), "faults were injected"


def test_a_users_pytest_suite_uses_the_fixture_with_no_cargo_on_the_path(tmp_path: Path) -> None:
    (tmp_path / "test_users_code.py").write_text(textwrap.dedent('''
        def test_signup_flow(klaviyo_sandbox, klaviyo_sandbox_client):
            klaviyo_sandbox_client.profiles.upsert(email="jane@example.com", properties={"plan": "pro"})
            klaviyo_sandbox_client.events.create(email="jane@example.com", metric="Signed Up")
            state = klaviyo_sandbox.state()
            assert state["profiles"] == 1
            assert state["events_per_metric"] == {"Signed Up": 1}
    '''))
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and not (Path(p) / "cargo").exists())
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARGO")} | {"PATH": path}
    assert shutil.which("cargo", path=path) is None
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_demo_account_comes_with_the_package() -> None:
    with Sandbox(rate_limits="off", seed_data="demo") as sandbox:
        client = sandbox.client()
        state = sandbox.state()
        assert state["profiles"] == 200 and state["lists"] == 2 and state["catalog_items"] == 20
        campaigns = client.request("get_campaigns", query={"filter": "equals(messages.channel,'email')"})
        assert sorted(c["attributes"]["status"] for c in campaigns["data"]) == ["Draft", "Sent", "Sent"]
    with pytest.raises(Exception, match="demo"):
        Sandbox(seed_data="production")
