"""`client.export(stream)`: a stream's records as Arrow batches through the Arrow PyCapsule
interface (read here by pyarrow, polars and duckdb) and as records by `for` and `async for`,
incremental through a state file."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from pathlib import Path

import pyarrow as pa
import pytest

from klaviyo_bridge import Export
from klaviyo_bridge.errors import InvalidInputError
from klaviyo_bridge.testing import Sandbox


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(seed_profiles=120, seed_events=2_500) as server:
        yield server


def test_pyarrow_reads_the_batches_through_the_capsule_with_the_specs_types(sandbox: Sandbox) -> None:
    export = sandbox.client().export("events", safety_margin=0)
    assert isinstance(export, Export)
    reader = pa.RecordBatchReader.from_stream(export)
    table = reader.read_all()
    assert table.num_rows == sandbox.state()["events"] == 2_500
    assert len(set(table.column("id").to_pylist())) == 2_500
    assert table.schema.field("datetime").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("timestamp").type == pa.int64()
    assert table.schema.field("event_properties").metadata == {b"format": b"json"}
    assert set(table.column("metric_id").to_pylist()) <= {m.id for m in sandbox.client().metrics.list()}
    # Read to the end through the capsule: the bookmark is known here too.
    assert export.bookmark is not None and export.bookmark.endswith("Z")
    # Handed over once: the batches are pyarrow's now.
    with pytest.raises(RuntimeError, match="already handed"):
        pa.RecordBatchReader.from_stream(export)


def test_polars_and_duckdb_read_an_export_as_they_read_any_arrow_stream(sandbox: Sandbox) -> None:
    import duckdb
    import polars as pl

    frame = pl.DataFrame(sandbox.client().export("profiles", safety_margin=0))
    assert frame.height == 120
    assert frame.schema["updated"] == pl.Datetime("us", "UTC")
    assert frame["id"].n_unique() == 120

    events = sandbox.client().export("events", safety_margin=0)
    counted = duckdb.sql("select count(*), count(distinct id) from events").fetchall()
    assert counted == [(2_500, 2_500)]


def test_records_are_dicts_with_datetimes_and_the_json_columns_objects(sandbox: Sandbox) -> None:
    export = sandbox.client().export("events", safety_margin=0, concurrency=4)
    assert export.bookmark is None
    records = list(export)
    assert len(records) == 2_500 == len({r["id"] for r in records})
    first = records[0]
    assert isinstance(first["datetime"], dt.datetime) and first["datetime"].tzinfo is not None
    assert int(first["datetime"].timestamp()) == first["timestamp"]
    assert isinstance(first["event_properties"], dict) and "seed_index" in first["event_properties"]
    assert dict(export.columns)["datetime"] == "timestamp"
    # Read to the end: the bookmark is where the next export starts.
    assert export.bookmark is not None and export.bookmark.endswith("Z")
    assert list(export) == []


def test_async_iteration_gives_the_same_records(sandbox: Sandbox) -> None:
    async def read() -> list:
        return [record async for record in sandbox.async_client().export("profiles", safety_margin=0)]

    records = asyncio.run(read())
    sync = list(sandbox.client().export("profiles", safety_margin=0))
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in sync)
    assert len(records) == 120


def test_a_state_file_makes_the_next_export_read_only_what_was_added(tmp_path: Path) -> None:
    state = tmp_path / "export-state.json"
    with Sandbox(seed_profiles=30, seed_events=400) as server:
        client = server.client()
        assert len(list(client.export("events", state=state, safety_margin=0))) == 400
        saved = json.loads(state.read_text())
        assert saved["destination"] == "export" and "bookmark" in saved["streams"]["events"]

        for i in range(25):
            client.events.create(metric="Viewed Product", email=f"late{i}@example.com", properties={"i": i})
        server.settled()
        added = int(time.time())
        # A sync reads up to the start of its own second: start after the additions' second.
        while int(time.time()) <= added:
            time.sleep(0.01)
        # Abandoned after one record: the bookmark stays where it was.
        half = client.export("events", state=state, safety_margin=0, concurrency=1)
        next(iter(half))
        del half
        assert json.loads(state.read_text()) == saved
        before = len(server.requests())
        again = list(client.export("events", state=state, safety_margin=0))
        assert sorted(r["event_properties"]["i"] for r in again) == list(range(25))
        sent = [r for r in server.requests()[before:] if r.get("operation") == "get_events"]
        assert len(sent) <= 3, sent


def test_events_sent_with_a_past_time_are_read_by_an_export_that_looks_back(tmp_path: Path) -> None:
    state = tmp_path / "late-state.json"
    with Sandbox(seed_profiles=10, seed_events=100) as server:
        client = server.client()
        assert len(list(client.export("events", state=state, safety_margin=0))) == 100
        two_hours_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
        client.events.create(metric="Placed Order", email="late@example.com", time=two_hours_ago, properties={"late": True})
        server.settled()
        # Behind the bookmark: an export that does not look back never sees it.
        assert not [r for r in client.export("events", state=state, safety_margin=0) if r["event_properties"].get("late")]
        found = list(client.export("events", state=state, safety_margin=0, events_lookback=3 * 3600))
        assert [r["event_properties"] for r in found if r["event_properties"].get("late")] == [{"late": True}]
        with pytest.raises(InvalidInputError, match="events_lookback -1"):
            client.export("events", events_lookback=-1)


def test_a_bad_stream_or_a_sync_state_is_refused_before_anything_is_sent(sandbox: Sandbox, tmp_path: Path) -> None:
    before = len(sandbox.requests())
    with pytest.raises(InvalidInputError, match="streams are .*events"):
        sandbox.client().export("eventz")
    with pytest.raises(InvalidInputError, match="since="):
        sandbox.client().export("events", since="yesterday")
    state = tmp_path / "sync-state.json"
    state.write_text(json.dumps({"destination": "parquet:/elsewhere", "streams": {}}))
    with pytest.raises(InvalidInputError, match="its own state file"):
        sandbox.client().export("events", state=state)
    assert len(sandbox.requests()) == before
