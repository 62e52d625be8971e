"""Auto-pagination, sync and async: items, pages, limits, resuming."""

from __future__ import annotations

import asyncio
from typing import Any

from klaviyo_bridge import AsyncClient, Client


def seed(client: Client, n: int) -> None:
    report = client.profiles.bulk_import([{"email": f"user{i:03}@example.com"} for i in range(n)])
    # The import job runs in the background; the tests below page what it made.
    job = client.jobs.wait("profile_import", report["jobs"][0]["id"], timeout=30)
    assert job["completed"] == n


def test_sync_items_pages_limits_and_resume(client: Client) -> None:
    seed(client, 95)
    assert len(list(client.profiles.list())) == 95
    assert len(list(client.profiles.list(max_items=30))) == 30
    pages = [len(p) for p in client.profiles.list(page_size=20).pages()]
    assert pages == [20, 20, 20, 20, 15]
    cursor = client.profiles.list(page_size=20, max_pages=2)
    first = [p.id for p in cursor]
    assert len(first) == 40 and cursor.cursor is not None
    rest = [p.id for p in client.profiles.list(page_size=20, cursor=cursor.cursor)]
    assert len(rest) == 55 and not set(first) & set(rest)
    sparse = next(iter(client.profiles.list(fields={"profile": ["email"]})))
    assert list(sparse.keys()) == ["email"]


def test_async_iteration_matches_sync(sandbox: Any) -> None:
    sync = Client(sandbox.key, base_url=sandbox.url)
    seed(sync, 45)

    async def main() -> None:
        async with AsyncClient(sandbox.key, base_url=sandbox.url) as client:
            emails = [p["email"] async for p in client.profiles.list(page_size=20)]
            assert sorted(emails) == [f"user{i:03}@example.com" for i in range(45)]
            sizes = [len(page) async for page in client.profiles.list(page_size=20).pages()]
            assert sizes == [20, 20, 5]
            capped = [p async for p in client.profiles.list(max_items=7)]
            assert len(capped) == 7
            account = await client.accounts.current()
            assert account.id == "SANDBX"

    asyncio.run(main())
