"""Concurrency behaviour: the GIL is released while waiting, clients survive fork(), asyncio
tasks cancel cleanly, and short asyncio programs exit cleanly."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from typing import Any, List

import pytest

from klaviyo_bridge import AsyncClient, Client


def test_sync_calls_release_the_gil(start_sandbox: Any) -> None:
    slow = start_sandbox("--rate-limits", "off", "--latency", "100")
    # Client-side pacing off: get_accounts is limited to 1/s, and this test is about the GIL.
    client = Client(slow.key, base_url=slow.url, rate_limit=False)
    client.accounts.current()  # connect once
    started = time.perf_counter()
    client.accounts.current()
    one = time.perf_counter() - started
    errors: List[BaseException] = []

    def call() -> None:
        try:
            client.accounts.current()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=call) for _ in range(8)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    eight = time.perf_counter() - started
    assert not errors
    # Serialized by the GIL, eight calls would take eight times one; in parallel, about one.
    assert eight < 3 * one, f"8 threads took {eight:.3f}s; one call takes {one:.3f}s"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_clients_work_after_fork(sandbox: Any) -> None:
    parent_client = Client(sandbox.key, base_url=sandbox.url)
    parent_client.accounts.current()  # the parent has a live pool and runtime before forking
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            parent_client.events.create(email="child@example.com", metric="From Child")
            Client(sandbox.key, base_url=sandbox.url).events.create(email="child2@example.com", metric="From Child")
            asyncio.run(AsyncClient(sandbox.key, base_url=sandbox.url).accounts.current())
            code = 0 if len(list(parent_client.profiles.list())) == 2 else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert sandbox.state()["events_per_metric"] == {"From Child": 2}
    assert parent_client.accounts.current().id == "SANDBX", "the parent still works after the child used its client"


def test_cancelling_an_asyncio_task_stops_the_request(start_sandbox: Any) -> None:
    slow = start_sandbox("--rate-limits", "off", "--latency", "5000")

    async def main() -> float:
        client = AsyncClient(slow.key, base_url=slow.url, max_retries=0)
        task = asyncio.ensure_future(client.accounts.current())
        await asyncio.sleep(0.1)
        started = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.accounts.current(), timeout=0.2)
        return time.perf_counter() - started

    assert asyncio.run(main()) < 1.0


def test_async_calls_are_coroutines(sandbox: Any) -> None:
    client = AsyncClient(sandbox.key, base_url=sandbox.url)
    # Created outside any event loop, then run: works because each call is a coroutine.
    account = asyncio.run(client.accounts.current())
    assert account.id == "SANDBX"

    async def main() -> int:
        tasks = [asyncio.create_task(client.events.create(email=f"t{i}@example.com", metric="Task")) for i in range(10)]
        await asyncio.gather(*tasks)
        return len([p async for p in client.profiles.list()])

    assert asyncio.run(main()) == 10


def test_short_asyncio_programs_exit_cleanly(sandbox: Any) -> None:
    program = f"""
import asyncio
from klaviyo_bridge import AsyncClient
async def main():
    client = AsyncClient({sandbox.key!r}, base_url={sandbox.url!r}, rate_limit=False)
    await asyncio.gather(*[client.accounts.current() for _ in range(5)])
asyncio.run(main())
"""
    for _ in range(15):
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
