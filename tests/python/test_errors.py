"""Each exception class from a real sandbox response; retries; secrets stay hidden."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import klaviyo_bridge
from klaviyo_bridge import (
    AuthenticationError,
    Client,
    ConfigurationError,
    InvalidInputError,
    KlaviyoError,
    NetworkError,
    NotFoundError,
    RateLimitError,
    ServerError,
    ValidationError,
)

KEY = "pk_secret_0123456789abcdef0123456789ab"


def test_async_calls_raise_the_same_typed_errors_and_keep_results_apart(sandbox: Any) -> None:
    """Async results and errors are made on asyncio's side (not on the I/O thread): with many
    calls in flight, each awaitable still gets its own result or its own typed exception."""
    import asyncio

    from klaviyo_bridge import AsyncClient

    async def main() -> None:
        client = AsyncClient(sandbox.key, base_url=sandbox.url, max_retries=0)
        created = await asyncio.gather(*(client.profiles.create(email=f"a{i}@example.com") for i in range(40)))
        outcomes = await asyncio.gather(
            *(client.profiles.get(p.id) for p in created),
            *(client.profiles.get(f"NOPE{i}") for i in range(40)),
            AsyncClient(KEY, base_url=sandbox.url).accounts.current(),
            return_exceptions=True,
        )
        found, missing, refused = outcomes[:40], outcomes[40:80], outcomes[80]
        assert [p["email"] for p in found] == [f"a{i}@example.com" for i in range(40)]
        assert all(isinstance(e, NotFoundError) and e.status == 404 for e in missing)
        assert isinstance(refused, AuthenticationError) and refused.status == 401 and KEY not in str(refused)

    asyncio.run(main())


def test_each_error_class_from_a_real_response(sandbox: Any, start_sandbox: Any) -> None:
    client = Client(sandbox.key, base_url=sandbox.url, max_retries=0)
    with pytest.raises(ValidationError) as v:
        client.request("get_profiles", query={"page[size]": 500})
    assert (v.value.code, v.value.status, v.value.errors[0]["source"]["parameter"]) == ("validation_error", 400, "page[size]")
    with pytest.raises(NotFoundError) as nf:
        client.profiles.get("NOPE")
    assert nf.value.status == 404 and nf.value.code == "not_found"
    with pytest.raises(AuthenticationError) as auth:
        Client(KEY, base_url=sandbox.url).accounts.current()
    assert auth.value.status == 401 and KEY not in str(auth.value)
    limited = start_sandbox("--rate-limits", "scale=1")
    fast = Client(limited.key, base_url=limited.url, rate_limit=False, max_retries=0)
    with pytest.raises(RateLimitError) as rl:
        for _ in range(5):
            fast.accounts.current()  # get_accounts allows 1/s
    assert rl.value.status == 429 and rl.value.retry_after is not None and rl.value.retry_after > 0
    broken = start_sandbox("--rate-limits", "off", "--faults", "500:1.0")
    with pytest.raises(ServerError) as se:
        Client(broken.key, base_url=broken.url, max_retries=0).accounts.current()
    assert se.value.status == 500
    slow = start_sandbox("--rate-limits", "off", "--latency", "1500")
    with pytest.raises(klaviyo_bridge.TimeoutError) as to:
        Client(slow.key, base_url=slow.url, timeout=0.2, max_retries=0).accounts.current()
    assert isinstance(to.value, TimeoutError) and to.value.code == "timeout"
    with pytest.raises(NetworkError) as ne:
        Client(KEY, base_url="http://127.0.0.1:1", max_retries=0).accounts.current()
    assert isinstance(ne.value, ConnectionError)
    with pytest.raises(InvalidInputError):
        client.events.create(metric="X")  # no identifier: nothing is sent
    with pytest.raises(ConfigurationError) as ce:
        Client("sk_not_a_private_key")
    assert "pk_" in str(ce.value) and isinstance(ce.value, ValueError)
    for error in [v.value, nf.value, auth.value, rl.value, se.value, to.value, ne.value]:
        assert isinstance(error, KlaviyoError)


def test_retries_ride_out_injected_faults(start_sandbox: Any) -> None:
    flaky = start_sandbox("--rate-limits", "off", "--faults", "503:0.3,429:0.1", "--seed", "3")
    client = Client(flaky.key, base_url=flaky.url, max_retries=8)
    for i in range(40):
        client.events.create(email=f"r{i}@example.com", metric="Retried", unique_id=f"r-{i}")
    assert flaky.state()["events_per_metric"] == {"Retried": 40}
    statuses = [r["status"] for r in flaky.requests()]
    assert 503 in statuses and 429 in statuses and len(statuses) > 40


def test_repr_messages_and_logs_hide_the_key(sandbox: Any, caplog: pytest.LogCaptureFixture) -> None:
    client = Client(KEY, base_url=sandbox.url, max_retries=0)
    assert KEY not in repr(client) and "0123456789abcdef" not in repr(client)
    caplog.set_level(logging.DEBUG, logger="klaviyo_bridge")
    klaviyo_bridge.refresh_logging()
    good = Client(sandbox.key, base_url=sandbox.url)
    good.accounts.current()
    records = [r for r in caplog.records if r.name.startswith("klaviyo_bridge")]
    assert any("klaviyo request" in r.getMessage() for r in records), [r.getMessage() for r in caplog.records]
    assert all(sandbox.key not in r.getMessage() for r in records)
    with pytest.raises(AuthenticationError) as e:
        client.accounts.current()
    assert KEY not in str(e.value) and KEY not in repr(e.value)


def test_debug_logging_shows_the_library_and_not_its_dependencies(sandbox: Any) -> None:
    """`logging.basicConfig(level=logging.DEBUG)` shows klaviyo_bridge's records only; the HTTP
    and TLS crates' join them when KLAVIYO_BRIDGE_LOG_DEPENDENCIES=1."""
    import os
    import subprocess
    import sys

    script = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format='%(name)s')\n"
        "from klaviyo_bridge import Client\n"
        f"Client({sandbox.key!r}, base_url={sandbox.url!r}).accounts.current()\n"
    )

    def loggers(**env: str) -> set:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ, **env}, timeout=60)
        assert done.returncode == 0, done.stderr
        return {line.split(".")[0] for line in done.stdout.split()}

    quiet = loggers()
    assert "klaviyo_bridge" in quiet, quiet
    assert not quiet & {"reqwest", "hyper_util", "rustls", "rustls_platform_verifier", "h2"}, quiet
    everything = loggers(KLAVIYO_BRIDGE_LOG_DEPENDENCIES="1")
    assert everything & {"reqwest", "hyper_util"}, everything
