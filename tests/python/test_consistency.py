"""What the bindings used to restate, now decided once in the core: argument checks and
defaults (no caller's number can crash the extension), error fields (the same as Node's),
and messages that name arguments the Python way."""

from __future__ import annotations

import inspect
import math

import pytest

from klaviyo_bridge import Client, ConfigurationError, InvalidInputError, NotFoundError, webhooks
from klaviyo_bridge.oauth import Tokens
from klaviyo_bridge.testing import Sandbox


def test_seconds_from_the_caller_are_checked_never_a_crash() -> None:
    with Sandbox(rate_limits="off") as sandbox:
        client = sandbox.client()
        with pytest.raises(ConfigurationError, match="timeout must be a positive number"):
            client.catalog.items.bulk_create([{"external_id": "A", "title": "A"}], timeout=-1)
        with pytest.raises(ConfigurationError):
            client.jobs.wait("profile_import", "X", timeout=math.nan)
        with pytest.raises(ConfigurationError):
            client.profiles.list(timeout=-5)
    with pytest.raises(ConfigurationError):
        webhooks.verify(b"{}", {}, secret="s" * 16, tolerance=math.inf)
    with pytest.raises(ConfigurationError):
        webhooks.MemorySeenStore(-1)
    with pytest.raises(ConfigurationError):
        webhooks.sign(b"{}", secret="s" * 16, timestamp=-3)
    with pytest.raises(ConfigurationError):
        Tokens("t", expires_at=math.inf)


def test_errors_carry_the_fields_node_errors_carry() -> None:
    with Sandbox(rate_limits="real") as sandbox:
        with pytest.raises(NotFoundError) as caught:
            sandbox.client().profiles.get("NOPE")
    error = caught.value
    assert (error.code, error.status) == ("not_found", 404)
    assert error.rate_limit is not None and set(error.rate_limit) == {"limit", "remaining", "reset"}
    for name in ("request_id", "retry_after", "errors"):
        assert hasattr(error, name)
    assert error.errors and error.errors[0]["status"] == 404


def test_messages_name_arguments_the_python_way(monkeypatch: pytest.MonkeyPatch) -> None:
    with Sandbox(rate_limits="off") as sandbox:
        client = sandbox.client()
        with pytest.raises(InvalidInputError, match="email, phone_number, external_id or id"):
            client.profiles.create()
        with pytest.raises(InvalidInputError, match=r"unknown field `profileID`"):
            client.profiles.subscribe([{"profileID": "X"}])
    monkeypatch.delenv("KLAVIYO_API_KEY", raising=False)
    monkeypatch.chdir("/")
    with pytest.raises(ConfigurationError, match=r"Client\(api_key=\.\.\.\)"):
        Client(base_url="http://127.0.0.1:9")


def test_hand_written_verbs_show_their_parameters() -> None:
    client = Client(api_key="pk_x", base_url="http://127.0.0.1:9")
    assert "filter" in inspect.signature(client.profiles.list).parameters
    assert "list_id" in inspect.signature(client.lists.profiles).parameters
    assert "metric" in inspect.signature(client.events.create).parameters
