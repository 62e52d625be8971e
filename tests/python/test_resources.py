"""Every resource family through the sync client, against the sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from klaviyo_bridge import BulkPartialError, Client, ConflictError, Resource


def test_events_create_list_get(client: Client, sandbox: Any) -> None:
    receipt = client.events.create(email="a@b.com", metric="Placed Order", properties={"value": 99.99, "OrderId": "ORD-123"}, value=99.99)
    assert len(receipt["unique_id"]) == 36
    client.events.create(email="a@b.com", metric="Placed Order", unique_id=receipt["unique_id"])
    assert sandbox.state()["events_per_metric"] == {"Placed Order": 1}, "same unique_id, recorded once"
    events = list(client.events.list(include=["metric"]))
    assert len(events) == 1 and isinstance(events[0], Resource)
    event = client.events.get(events[0].id)
    assert event["event_properties"]["OrderId"] == "ORD-123"
    assert event.event_properties["$value"] == 99.99


def test_events_bulk_create_reports_bad_items_before_sending(client: Client, sandbox: Any) -> None:
    report = client.events.bulk_create([{"metric": "Viewed Product", "email": f"u{i}@example.com"} for i in range(1500)])
    assert report["accepted"] == 1500 and len(report["jobs"]) == 2
    with pytest.raises(BulkPartialError) as caught:
        client.events.bulk_create([{"metric": "X", "email": "ok@example.com"}, {"metric": "X"}, {"metric": "X", "email": "broken"}])
    assert [f["index"] for f in caught.value.failures] == [1, 2]
    assert caught.value.accepted == 0 and caught.value.total == 3


def test_profiles_lifecycle(client: Client, sandbox: Any) -> None:
    jane = client.profiles.create(email="jane@example.com", properties={"first_name": "Jane", "tier": "gold"})
    assert jane["first_name"] == "Jane" and jane["properties"] == {"tier": "gold"}
    with pytest.raises(ConflictError) as caught:
        client.profiles.create(email="jane@example.com")
    assert caught.value.status == 409
    assert caught.value.errors[0]["meta"]["duplicate_profile_id"] == jane.id
    updated = client.profiles.update(jane.id, properties={"last_name": "Doe"})
    assert updated["last_name"] == "Doe"
    upserted = client.profiles.upsert(email="jane@example.com", properties={"tier": "platinum"})
    assert upserted.id == jane.id and upserted["properties"]["tier"] == "platinum"
    assert client.profiles.get(jane.id).raw["attributes"]["email"] == "jane@example.com"
    found = list(client.profiles.list(filter='equals(email,"jane@example.com")'))
    assert [p.id for p in found] == [jane.id]
    other = client.profiles.create(email="dup@example.com", properties={"legacy": True})
    client.profiles.merge(jane.id, [other.id])
    assert sandbox.state()["profiles"] == 1
    client.data_privacy.delete_profile(email="jane@example.com")
    assert sandbox.state()["profiles"] == 0


def test_profile_bulk_import_with_job_polling_and_row_errors(client: Client) -> None:
    vip = client.lists.create("VIP")
    report = client.profiles.bulk_import([{"email": f"p{i}@example.com", "first_name": f"P{i}"} for i in range(30)], list_id=vip.id)
    job = client.jobs.wait("profile_import", report["jobs"][0]["id"], timeout=10)
    assert (job["status"], job["completed"], job["failed"]) == ("complete", 30, 0)
    assert len(list(client.lists.profiles(vip.id))) == 30
    raw = client.request("bulk_import_profiles", body={"data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": [{"type": "profile", "attributes": {"email": "no-at"}}]}}}})
    job_id = raw["data"]["id"]
    assert client.jobs.wait("profile_import", job_id)["failed"] == 1
    errors = list(client.profiles.import_errors(job_id))
    assert errors[0]["source"]["pointer"] == "/data/attributes/profiles/data/0"


def test_lists_crud_and_membership(client: Client) -> None:
    people = [client.profiles.create(email=f"m{i}@example.com").id for i in range(5)]
    lst = client.lists.create("Newsletter")
    assert client.lists.update(lst.id, "Weekly")["name"] == "Weekly"
    assert client.lists.add_profiles(lst.id, people)["accepted"] == 5
    client.lists.remove_profiles(lst.id, people[:2])
    assert len(list(client.lists.profiles(lst.id))) == 3
    assert [l["name"] for l in client.lists.list()] == ["Weekly"]
    client.lists.delete(lst.id)
    assert list(client.lists.list()) == []


def test_subscriptions_and_suppressions(client: Client, sandbox: Any) -> None:
    lst = client.lists.create("Consent")
    client.profiles.subscribe(["s1@example.com", {"email": "s2@example.com"}], list_id=lst.id)
    report = client.profiles.suppress(["s1@example.com"])
    client.jobs.wait("suppress", report["jobs"][0]["id"])
    client.profiles.unsuppress(["s1@example.com"])
    with pytest.raises(ValueError):
        client.profiles.subscribe(["s1@example.com"], channel="pigeon")


def test_metrics_and_aggregates(client: Client) -> None:
    for day, value in [("2026-03-01T10:00:00Z", 10.0), ("2026-03-02T10:00:00Z", 5.0)]:
        client.events.create(email="m@example.com", metric="Placed Order", value=value, time=day)
    metric = next(iter(client.metrics.list()))
    assert client.metrics.get(metric.id)["name"] == "Placed Order"
    doc = client.metrics.aggregate(metric.id, start="2026-03-01T00:00:00Z", end="2026-03-03T00:00:00Z", measurements=["count", "sum_value"])
    values = doc["data"]["attributes"]["data"][0]["measurements"]
    assert values == {"count": [1, 1], "sum_value": [10.0, 5.0]}


def test_catalog_items_variants_categories_and_bulk(client: Client) -> None:
    mugs = client.catalog.categories.create({"external_id": "mugs", "name": "Mugs"})
    item = client.catalog.items.create({"external_id": "MUG", "title": "Mug", "description": "d", "url": "https://example.com"}, relationships={"categories": {"data": [{"type": "catalog-category", "id": mugs.id}]}})
    client.catalog.variants.create({"external_id": "MUG-R", "title": "Red", "sku": "MUG-R"}, relationships={"item": {"data": {"type": "catalog-item", "id": item.id}}})
    assert client.catalog.items.update(item.id, {"price": 9.5})["price"] == 9.5
    assert len(list(client.catalog.variants.list())) == 1
    report = client.catalog.items.bulk_create([{"external_id": f"SKU-{i}", "title": f"Item {i}"} for i in range(150)])
    assert report["accepted"] == 150 and len(report["jobs"]) == 2
    with pytest.raises(BulkPartialError) as caught:
        client.catalog.items.bulk_create([{"external_id": "SKU-1", "title": "again"}])
    assert "already exists" in caught.value.failures[0]["reason"]
    client.catalog.items.bulk_delete([f"$custom:::$default:::SKU-{i}" for i in range(50)])
    assert len(list(client.catalog.items.list())) == 101
    client.catalog.items.delete(item.id)
    assert client.catalog.categories.get(mugs.id)["name"] == "Mugs"


def test_webhooks_and_accounts_and_generic_request(client: Client) -> None:
    topics = client.webhooks.topics()
    hook = client.webhooks.create(name="orders", endpoint_url="https://example.com/hook", secret_key="0123456789abcdef01", topics=[topics[0].id])
    assert client.webhooks.update(hook.id, {"enabled": False})["enabled"] is False
    assert [w.id for w in client.webhooks.list()] == [hook.id]
    client.webhooks.delete(hook.id)
    account = client.accounts.current()
    assert client.accounts.get(account.id)["public_api_key"] == account.id
    doc = client.request("get_accounts")
    assert doc["data"][0]["id"] == account.id
    doc = client.request("get_profiles", query={"page[size]": 1}, timeout=5)
    assert doc["data"] == []
