"""`klaviyo-dev-tools --tool sync` (the Python console script) writes Parquet that another
reader, pyarrow, reads back with the spec's types and every record once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from klaviyo_bridge.testing import Sandbox

BIN = Path(sys.executable).parent


def test_parquet_reads_back_in_pyarrow_with_the_specs_types(tmp_path: Path) -> None:
    with Sandbox(seed_profiles=150, seed_events=1_500) as sandbox:
        environment = {**os.environ, "KLAVIYO_BASE_URL": sandbox.url, "KLAVIYO_API_KEY": sandbox.api_key}
        out = tmp_path / "warehouse"
        done = subprocess.run(
            [str(BIN / "klaviyo-dev-tools"), "--tool", "sync", "--streams", "profiles,events,catalog_items",
             "--destination", f"parquet:{out}", "--state", str(tmp_path / "state.json"), "--safety-margin", "0",
             "--format", "json", "--quiet"],
            capture_output=True, text=True, env=environment, timeout=300,
        )
        assert done.returncode == 0, done.stderr
        summary = {row["stream"]: row for row in json.loads(done.stdout)}
        expected_events = sandbox.state()["events"]
    events = ds.dataset(out / "events", format="parquet").to_table()
    assert events.num_rows == expected_events == summary["events"]["records"] == 1_500
    assert len(set(events.column("id").to_pylist())) == 1_500
    schema = events.schema
    assert schema.field("datetime").type == pa.timestamp("us", tz="UTC")
    assert schema.field("timestamp").type == pa.int64()
    assert schema.field("metric_id").type == pa.string()
    # Custom properties are JSON text, marked as such.
    assert schema.field("event_properties").metadata == {b"format": b"json"}
    first = events.slice(0, 1).to_pylist()[0]
    assert "seed_index" in json.loads(first["event_properties"])
    assert first["datetime"].tzinfo is not None
    # A datetime's timestamp column agrees with its datetime.
    assert int(first["datetime"].timestamp()) == first["timestamp"]
    profiles = ds.dataset(out / "profiles", format="parquet").to_table()
    assert profiles.num_rows == 150
    assert profiles.schema.field("updated").type == pa.timestamp("us", tz="UTC")
    assert profiles.schema.field("location").type == pa.string()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["streams"]["profiles"]["rows"] == 150
    # Events are in month folders, Hive-style: a reader that asks for one month reads only
    # its files, and each of them holds exactly that month's events.
    import duckdb

    by_month = ds.dataset(out / "events", format="parquet", partitioning="hive").to_table()
    months = sorted(set(by_month.column("month").to_pylist()))
    assert len(months) > 1 and all(len(m) == 7 for m in months)
    glob = str(out / "events" / "*" / "*.parquet")
    database = duckdb.connect()
    for month in months:
        [counted] = database.execute(
            "select count(*), count(*) filter (where strftime(datetime at time zone 'UTC', '%Y-%m') = ?) "
            "from read_parquet(?, hive_partitioning = true) where month = ?",
            [month, glob, month],
        ).fetchall()
        expected = sum(1 for d in events.column("datetime").to_pylist() if d.strftime("%Y-%m") == month)
        assert counted == (expected, expected), month


# The Singer specification's messages (singer-io/getting-started, SPEC.md), as JSON Schema.
SINGER_MESSAGES = {
    "SCHEMA": {"type": "object", "required": ["type", "stream", "schema", "key_properties"], "properties": {
        "type": {"const": "SCHEMA"}, "stream": {"type": "string"}, "schema": {"type": "object"},
        "key_properties": {"type": "array", "items": {"type": "string"}},
        "bookmark_properties": {"type": "array", "items": {"type": "string"}}}},
    "RECORD": {"type": "object", "required": ["type", "stream", "record"], "properties": {
        "type": {"const": "RECORD"}, "stream": {"type": "string"}, "record": {"type": "object"},
        "time_extracted": {"type": "string", "format": "date-time"}}},
    "STATE": {"type": "object", "required": ["type", "value"], "properties": {"type": {"const": "STATE"}}},
}


def _tap(arguments: list, environment: dict) -> subprocess.CompletedProcess:
    done = subprocess.run([str(BIN / "klaviyo-dev-tools"), "--tool", "sync", "--singer", *arguments],
                          capture_output=True, text=True, env=environment, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def test_singer_output_follows_the_singer_spec_and_resumes_from_its_state(tmp_path: Path) -> None:
    from jsonschema import Draft7Validator, FormatChecker

    with Sandbox(seed_profiles=40, seed_events=300) as sandbox:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("KLAVIYO_")}
        catalog = json.loads(_tap(["--discover"], environment).stdout)
        names = [s["tap_stream_id"] for s in catalog["streams"]]
        assert {"profiles", "events", "metrics", "campaigns"} <= set(names)
        for stream in catalog["streams"]:
            if stream["tap_stream_id"] in ("profiles", "events"):
                stream["metadata"][0]["metadata"]["selected"] = True
        (tmp_path / "catalog.json").write_text(json.dumps(catalog))
        # As a Singer tap takes it: the key and where to start in --config.
        (tmp_path / "config.json").write_text(json.dumps({"api_key": sandbox.api_key, "base_url": sandbox.url, "start_date": "2020-01-01T00:00:00Z"}))
        arguments = ["--config", str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json"), "--safety-margin", "0"]
        messages = [json.loads(line) for line in _tap(arguments, environment).stdout.splitlines()]
    checker = FormatChecker()
    schemas: dict = {}
    records: dict = {"profiles": set(), "events": set()}
    for message in messages:
        Draft7Validator(SINGER_MESSAGES[message["type"]], format_checker=checker).validate(message)
        if message["type"] == "SCHEMA":
            schemas[message["stream"]] = message["schema"]
            assert message["key_properties"] == ["id"]
        elif message["type"] == "RECORD":
            # A RECORD follows its stream's SCHEMA and matches it (types and date-time formats).
            Draft7Validator(schemas[message["stream"]], format_checker=checker).validate(message["record"])
            records[message["stream"]].add(message["record"]["id"])
    assert {k: len(v) for k, v in records.items()} == {"profiles": 40, "events": 300}
    assert schemas["events"]["properties"]["datetime"] == {"type": ["null", "string"], "format": "date-time"}
    assert messages[-1]["type"] == "STATE"
    # Started again with the last STATE (what a target echoes), it has nothing new to send.
    (tmp_path / "state.json").write_text(json.dumps(messages[-1]["value"]))
    with Sandbox(seed_profiles=40, seed_events=300) as same:
        (tmp_path / "config.json").write_text(json.dumps({"api_key": same.api_key, "base_url": same.url, "start_date": "2020-01-01T00:00:00Z"}))
        again = [json.loads(line) for line in _tap([*arguments, "--state", str(tmp_path / "state.json")], environment).stdout.splitlines()]
    assert [m for m in again if m["type"] == "RECORD"] == []
    assert {m["stream"] for m in again if m["type"] == "SCHEMA"} == {"profiles", "events"}
