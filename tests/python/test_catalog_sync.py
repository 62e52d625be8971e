"""`client.catalogs.sync` from Python, blocking and asyncio: a feed file or a list of dicts, the
same report fields as the CLI and Node, dry runs and plans, typed errors for a bad feed and for
a plan the delete guard refuses."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

import klaviyo_bridge
from klaviyo_bridge import AsyncClient, Client


def products(n: int, price: float = 5.0) -> List[Dict[str, Any]]:
    return [
        {"id": f"PY-{i}", "title": f"Product {i}", "description": "D", "url": f"https://shop.example/p/{i}", "price": price, "category": "Kitchen|Gifts" if i % 2 else "Kitchen"}
        for i in range(n)
    ]


def test_a_list_of_dicts_syncs_and_a_second_run_changes_nothing(client: Client, sandbox: Any) -> None:
    report = client.catalogs.sync(products(150))
    assert report["created"] == 150 + 2, report
    assert report["plan"]["items"]["create"] == 150
    assert report["failed"] == []
    state = sandbox.state()
    assert (state["catalog_items"], state["catalog_categories"]) == (150, 2)
    again = client.catalogs.sync(products(150))
    assert again["plan"]["items"]["unchanged"] == 150, again
    assert (again["writes"], again["jobs"]) == (0, 0)
    # The generated operations are still on the same namespace.
    item = client.catalogs.get_catalog_item("$custom:::$default:::PY-3")
    assert item.price == 5


def test_a_feed_file_a_dry_run_plan_and_apply_plan(client: Client, sandbox: Any, tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text("sku,name,description,link,price\nC1,Cup,A cup,https://shop.example/c1,3\nC2,Jug,A jug,https://shop.example/c2,4\n")
    plan = tmp_path / "plan.json"
    report = client.catalogs.sync(feed, mapping={"external_id": "sku"}, dry_run=True, plan_out=plan)
    assert report["dry_run"] is True and report["plan"]["items"]["create"] == 2, report
    assert report["plan_file"] == str(plan)
    assert sandbox.state()["catalog_items"] == 0
    assert json.loads(plan.read_text())["items"]["create"][0]["external_id"] == "C1"
    applied = client.catalogs.sync(apply_plan=plan)
    assert applied["created"] == 2, applied
    assert sandbox.state()["catalog_items"] == 2


def test_bad_records_are_a_typed_error_listing_each_and_nothing_is_sent(client: Client, sandbox: Any) -> None:
    feed = products(5)
    feed[1]["url"] = "not a url"
    del feed[3]["description"]
    with pytest.raises(klaviyo_bridge.errors.BulkPartialError) as raised:
        client.catalogs.sync(feed)
    assert [f["index"] for f in raised.value.failures] == [1, 3], "each failure is at its record's position"
    reasons = [f["reason"] for f in raised.value.failures]
    assert reasons[0].startswith('record 2: url "not a url"'), reasons
    assert reasons[1].startswith("record 4: description is missing"), reasons
    assert sandbox.state()["catalog_items"] == 0
    report = client.catalogs.sync(feed, skip_invalid=True)
    assert [(p["location"], p["record"], p["external_id"]) for p in report["skipped"]] == [("record 2", 2, "PY-1"), ("record 4", 4, "PY-3")]
    assert report["plan"]["items"]["create"] == 3


def test_the_delete_guard_refuses_a_short_feed_unless_forced(client: Client, sandbox: Any) -> None:
    client.catalogs.sync(products(40))
    with pytest.raises(klaviyo_bridge.errors.InvalidInputError, match="deletes 20 of the catalog's 40 items"):
        client.catalogs.sync(products(20), delete_missing=True)
    assert sandbox.state()["catalog_items"] == 40
    report = client.catalogs.sync(products(20), delete_missing=True, force=True)
    assert report["deleted"] == 20
    with pytest.raises(klaviyo_bridge.errors.InvalidInputError, match="attribute \"colour\""):
        client.catalogs.sync(products(1), mapping={"colour": "c"})


def test_the_async_client_syncs_too(sandbox: Any) -> None:
    async def main() -> Dict[str, Any]:
        async with AsyncClient(sandbox.key, base_url=sandbox.url) as client:
            return await client.catalogs.sync(products(30, price=7.5))

    report = asyncio.run(main())
    assert report["created"] == 32, report
    assert sandbox.state()["catalog_items"] == 30
