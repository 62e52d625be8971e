"""A user's script, type-checked with `mypy --strict` in `make test` (not run as a test)."""

from __future__ import annotations

import asyncio
from typing import List, Optional

from klaviyo_bridge import AsyncClient, Client, RateLimitError, Resource, webhooks


def sync_job(client: Client) -> List[str]:
    receipt = client.events.create(email="a@b.com", metric="Placed Order", properties={"value": 99.99}, value=99.99)
    unique_id: str = receipt["unique_id"]
    profile: Resource = client.profiles.upsert(email="a@b.com", properties={"first_name": "Jane"})
    emails: List[str] = [p["email"] for p in client.profiles.list(filter='equals(email,"a@b.com")', max_items=10)]
    report = client.events.bulk_create([{"metric": "Viewed", "email": "b@c.com"}])
    accepted: int = report["accepted"]
    try:
        client.request("get_accounts")
    except RateLimitError as e:
        wait: Optional[float] = e.retry_after
        print(wait)
    return [unique_id, str(profile.id), str(accepted), *emails]


async def async_job(client: AsyncClient) -> int:
    account: Resource = await client.accounts.current()
    count = 0
    async for _profile in client.profiles.list(page_size=100):
        count += 1
    print(account.id)
    return count


def receiver(body: bytes, headers: dict[str, str]) -> str:
    delivery = webhooks.verify(body, headers, secret="s" * 16)
    return str(delivery["webhook_id"])


if __name__ == "__main__":
    with Client() as c:
        sync_job(c)
    asyncio.run(async_job(AsyncClient()))


def tracking(client: Client) -> int:
    with client.tracker(flush_at=500, when_full="error", on_error=lambda f: print(f["unique_id"], f["reason"])) as tracker:
        unique_id: str = tracker.track(metric="Placed Order", email="a@b.com", value=9.5)
        tracker.flush(timeout=5.0)
    return tracker.stats()["sent"] + len(unique_id)


def with_sandbox() -> int:
    from klaviyo_bridge.testing import Sandbox

    with Sandbox(rate_limits="off", seed_profiles=10) as sandbox:
        client = Client(sandbox=sandbox)
        client.profiles.upsert(email="a@b.com")
        state = sandbox.settled()
        return int(state["profiles"]) + len(sandbox.requests()) + len(sandbox.client(max_retries=1).base_url)
