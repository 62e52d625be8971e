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


def catalog_job(client: Client) -> int:
    report = client.catalogs.sync("products.xml", delete_missing=True, mapping={"external_id": "sku"})
    failed = [f["external_id"] for f in report["failed"]]
    creates: int = report["plan"]["items"]["create"]
    return creates + len(failed)


async def async_catalog_job(client: AsyncClient) -> bool:
    report = await client.catalogs.sync([{"id": "A", "title": "T", "description": "D", "url": "https://x.example"}], dry_run=True)
    return report["dry_run"]


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


def every_namespace(client: Client) -> int:
    """Generated operations across the spec's tags, as a user would call them."""
    count = 0
    for campaign in client.campaigns.get_campaigns("equals(messages.channel,'email')", fields_campaign=["name", "status"], include=["tags"], sort="-created_at", max_items=5):
        count += 1
        client.campaigns.get_campaign(str(campaign.id), include=["campaign-messages"])
        client.campaigns.get_tags_for_campaign(str(campaign.id), fields_tag=["name"])
    created: Resource = client.lists.create_list({"data": {"type": "list", "attributes": {"name": "VIP"}}})
    client.lists.update_list(str(created.id), {"data": {"type": "list", "id": str(created.id), "attributes": {"name": "VIPs"}}})
    client.lists.get_list(str(created.id), additional_fields_list=["profile_count"])
    for _member in client.lists.get_profiles_for_list(str(created.id), page_size=100, max_pages=2):
        count += 1
    client.lists.delete_list(str(created.id))
    count += sum(1 for _ in client.profiles.get_profiles(filter='equals(email,"a@b.com")', additional_fields_profile=["subscriptions"], page_size=50))
    client.events.create_event({"data": {"type": "event", "attributes": {"properties": {"value": 1}, "metric": {"data": {"type": "metric", "attributes": {"name": "Viewed"}}}, "profile": {"data": {"type": "profile", "attributes": {"email": "a@b.com"}}}}}})
    count += sum(1 for _ in client.events.get_events(sort="-datetime", fields_event=["datetime"], max_items=10))
    count += sum(1 for _ in client.metrics.get_metrics(fields_metric=["name"]))
    client.flows.get_flows(sort="name", max_pages=1)
    client.flows.update_flow("F1", {"data": {"type": "flow", "id": "F1", "attributes": {"status": "live"}}})
    client.segments.get_segments(fields_segment=["name"], include=["tags"])
    client.templates.create_template({"data": {"type": "template", "attributes": {"name": "Welcome", "editor_type": "CODE", "html": "<p>Hi</p>"}}})
    client.templates.get_templates(sort="-updated")
    client.tags.create_tag({"data": {"type": "tag", "attributes": {"name": "Holiday"}}})
    client.tags.get_tags(fields_tag=["name"])
    client.coupons.get_coupons(fields_coupon=["external_id"])
    client.catalogs.get_catalog_items(sort="created", fields_catalog_item=["title", "price"])
    client.catalogs.create_catalog_category({"data": {"type": "catalog-category", "attributes": {"external_id": "shoes", "name": "Shoes"}}})
    client.forms.get_forms(fields_form=["name"])
    client.images.get_images(sort="-updated_at")
    client.webhooks.get_webhooks()
    client.accounts.get_accounts(fields_account=["contact_information"])
    client.reviews.get_reviews(filter="equals(status,'published')")
    client.web_feeds.get_web_feeds()
    client.custom_objects.get_data_sources()
    client.tracking_settings.get_tracking_settings()
    client.reporting.query_campaign_values({"data": {"type": "campaign-values-report", "attributes": {"statistics": ["opens"], "timeframe": {"key": "last_30_days"}, "conversion_metric_id": "M1"}}})
    # Misspelled names, values outside the allowed set and bodies that miss a required key are
    # type errors (mypy --strict also fails if one of these stops being an error).
    client.campaigns.get_campaigns("x", fields_campain=["name"])  # type: ignore[call-arg]
    client.campaigns.get_campaigns("x", sort="nme")  # type: ignore[arg-type]
    client.campaigns.get_campaignz("x")  # type: ignore[attr-defined]
    client.lists.create_list({"data": {"type": "list", "attributes": {}}})  # type: ignore[typeddict-item]
    client.lists.create_list({"data": {"type": "lists", "attributes": {"name": "VIP"}}})  # type: ignore[typeddict-item]
    return count


async def every_namespace_async(client: AsyncClient) -> int:
    count = 0
    async for _campaign in client.campaigns.get_campaigns("equals(messages.channel,'sms')", max_items=3):
        count += 1
    flow: Resource = await client.flows.get_flow("F1", include=["flow-actions"])
    tags = await client.flows.get_tags_for_flow(str(flow.id))
    await client.lists.delete_list("L1")
    await client.campaigns.get_campaignz()  # type: ignore[attr-defined]
    return count + len(tags)
