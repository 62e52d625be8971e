"""The event tracker through the Python binding: track() returns without waiting for the
network, exit and `with` flush, a full queue is reported, and a spool survives SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from klaviyo_bridge import AsyncClient, Client, QueueFullError


def test_track_returns_in_microseconds_while_the_server_takes_200ms(start_sandbox: Any) -> None:
    sandbox = start_sandbox("--rate-limits", "off", "--latency", "200")
    client = Client(sandbox.key, base_url=sandbox.url)
    tracker = client.tracker(flush_at=100)
    durations: List[float] = []
    for i in range(2_000):
        started = time.perf_counter()
        tracker.track(metric="Viewed Page", email=f"user{i % 50}@example.com", properties={"i": i})
        durations.append(time.perf_counter() - started)
    # Any call that waited for the network would take at least one 200 ms round trip.
    assert max(durations) < 0.1, max(durations)
    assert statistics.median(durations) < 0.001, statistics.median(durations)
    assert tracker.flush(timeout=60) is True
    stats = tracker.stats()
    assert (stats["queued"], stats["sent"], stats["failed"], stats["pending"]) == (2_000, 2_000, 0, 0)
    assert sandbox.settled()["events"] == 2_000


def _run(script: str, sandbox: Any, *args: str) -> "subprocess.Popen[str]":
    code = textwrap.dedent(script)
    return subprocess.Popen([sys.executable, "-c", code, sandbox.url, sandbox.key, *args], stdout=subprocess.PIPE, text=True)


def test_events_tracked_before_exit_are_delivered_at_exit(start_sandbox: Any) -> None:
    sandbox = start_sandbox("--rate-limits", "off", "--latency", "100")
    child = _run(
        """
        import sys
        from klaviyo_bridge import Client
        tracker = Client(sys.argv[2], base_url=sys.argv[1]).tracker(flush_interval=3600)
        for i in range(2_500):
            tracker.track(metric="Placed Order", email=f"buyer{i}@example.com", value=i)
        print("tracked", tracker.stats()["sent"], flush=True)
        # no flush, no close: the interpreter's exit must deliver the rest
        """,
        sandbox,
    )
    out, _ = child.communicate(timeout=120)
    assert child.returncode == 0
    assert out.split()[0] == "tracked" and int(out.split()[1]) < 2_500, "most events were still queued when the script ended"
    assert sandbox.settled()["events"] == 2_500


def test_with_block_flushes_and_full_queue_raises_or_drops(start_sandbox: Any) -> None:
    sandbox = start_sandbox("--rate-limits", "off", "--latency", "300")
    client = Client(sandbox.key, base_url=sandbox.url)
    with client.tracker() as tracker:
        for i in range(10):
            tracker.track(metric="Signed Up", email=f"new{i}@example.com")
    assert tracker.closed and tracker.stats()["sent"] == 10
    with pytest.raises(Exception, match="shut down"):
        tracker.track(metric="Signed Up", email="late@example.com")

    full = client.tracker(max_queue=5, when_full="error")
    for i in range(5):
        full.track(metric="Clicked", email=f"c{i}@example.com")
    with pytest.raises(QueueFullError) as raised:
        full.track(metric="Clicked", email="c5@example.com")
    assert raised.value.code == "queue_full" and "max_queue" in str(raised.value)

    reported: List[Dict[str, Any]] = []
    dropping = client.tracker(max_queue=5, when_full="drop", on_error=reported.append)
    for i in range(7):
        dropping.track(metric="Clicked", email=f"d{i}@example.com")
    assert dropping.stats()["dropped"] == 2
    assert [r["code"] for r in reported] == ["queue_full", "queue_full"]
    with pytest.raises(Exception, match="flush_at must be between 1 and 1000"):
        client.tracker(flush_at=5_000)
    with pytest.raises(Exception, match="not a valid email"):
        dropping.track(metric="Clicked", email="not-an-email")
    assert full.close()["sent"] == 5 and dropping.close()["sent"] == 5


def test_async_client_tracker_flushes_with_await(start_sandbox: Any) -> None:
    sandbox = start_sandbox("--rate-limits", "off")

    async def main() -> Dict[str, Any]:
        tracker = AsyncClient(sandbox.key, base_url=sandbox.url).tracker()
        for i in range(300):
            tracker.track(metric="Opened App", external_id=f"u{i}")
        assert await tracker.aflush(timeout=30)
        return await tracker.aclose()

    stats = asyncio.run(main())
    assert stats["sent"] == 300
    assert sandbox.settled()["events"] == 300


def test_spool_survives_sigkill_and_the_next_process_finishes_delivery(start_sandbox: Any, tmp_path: Path) -> None:
    sandbox = start_sandbox("--rate-limits", "real", "--latency", "200")
    spool = tmp_path / "spool"
    child = _run(
        """
        import sys, threading, time
        from klaviyo_bridge import Client
        tracker = Client(sys.argv[2], base_url=sys.argv[1]).tracker(spool_dir=sys.argv[3])
        for i in range(20_000):
            tracker.track(metric="Viewed Product", email=f"shopper{i % 1000}@example.com", unique_id=f"view-{i}")
        while tracker.stats()["sent"] < 2_000:
            time.sleep(0.005)
        print("midway", tracker.stats()["sent"], flush=True)
        threading.Event().wait()
        """,
        sandbox,
        str(spool),
    )
    assert child.stdout is not None
    line = child.stdout.readline().split()
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert line[0] == "midway"
    delivered_before_crash = sandbox.settled()["events"]
    assert 2_000 <= delivered_before_crash < 20_000, delivered_before_crash

    # A new process with the same spool resends what was not acknowledged.
    resumed = _run(
        """
        import sys
        from klaviyo_bridge import Client
        tracker = Client(sys.argv[2], base_url=sys.argv[1]).tracker(spool_dir=sys.argv[3])
        recovered = tracker.stats()["queued"]
        stats = tracker.close(timeout=120)
        print(recovered, stats["sent"], stats["failed"], flush=True)
        """,
        sandbox,
        str(spool),
    )
    out, _ = resumed.communicate(timeout=180)
    recovered, sent, failed = map(int, out.split())
    assert recovered >= 20_000 - delivered_before_crash and sent == recovered and failed == 0
    assert sandbox.settled()["events"] == 20_000, "exactly 20,000: nothing lost, nothing doubled"
    assert not (spool / "000000000001.log").exists(), "the delivered segment was deleted"


def test_a_queue_url_is_checked_when_the_tracker_is_made_and_its_password_never_shown(start_sandbox: Any) -> None:
    from klaviyo_bridge import ConfigurationError, InvalidInputError

    sandbox = start_sandbox()
    client = Client(sandbox.key, base_url=sandbox.url)
    with pytest.raises(ConfigurationError) as refused:
        client.tracker(queue="http://:hunter2@cache.internal:6379/0")
    assert "redis://host:port/db" in str(refused.value) and "hunter2" not in str(refused.value)
    with pytest.raises(InvalidInputError, match="not both"):
        client.tracker(queue="redis://127.0.0.1:1/0", spool_dir=".")
    with pytest.raises(ConfigurationError, match="claim_after"):
        client.tracker(queue="redis://127.0.0.1:1/0", claim_after=-1)
