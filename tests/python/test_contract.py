"""The behaviour contract (tests/contract/behaviour.json), run through the Python package: the
same scenarios the Rust and Node suites run, with the same expected results and sandbox state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from klaviyo_bridge import KlaviyoError, Pager, Resource, Tracker
from klaviyo_bridge.testing import Sandbox

CONTRACT = json.loads((Path(__file__).resolve().parents[1] / "contract" / "behaviour.json").read_text())


def canonical(value: Any) -> Any:
    """A result as the contract compares it."""
    if isinstance(value, Resource):
        return {"id": value.id, "type": value.type, "attributes": value.attributes}
    if isinstance(value, Pager):
        return [canonical(item) for item in value]
    if isinstance(value, Tracker):
        return {"tracker": True}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    return value


def lookup(value: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(value, list):
            value = value[int(part)]
        else:
            assert isinstance(value, dict) and part in value, f"no {part!r} in {value!r}"
            value = value[part]
    return value


def resolve(value: Any, saved: Dict[str, Any]) -> Any:
    """`$name.path` strings become values saved by earlier steps."""
    if isinstance(value, str) and value.startswith("$"):
        name, _, path = value[1:].partition(".")
        if name in saved:
            return lookup(saved[name], path) if path else saved[name]
        return value
    if isinstance(value, list):
        return [resolve(v, saved) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, saved) for k, v in value.items()}
    return value


TYPES = {"string": str, "number": (int, float), "boolean": bool, "object": dict, "list": list}


def check(result: Any, expect: Dict[str, Any], saved: Dict[str, Any], where: str) -> None:
    for path, wanted in expect.items():
        wanted = resolve(wanted, saved)
        if path == "$null":
            assert result is None, f"{where}: {result!r}"
        elif path == "$value":
            assert result == wanted, f"{where}: {result!r} != {wanted!r}"
        elif path == "$type":
            assert isinstance(result, TYPES[wanted]), f"{where}: {result!r}"
        elif path == "$len":
            assert len(result) == wanted, f"{where}: {len(result)} items: {result!r}"
        elif path == "$min_len":
            assert len(result) >= wanted, f"{where}: {result!r}"
        else:
            actual = lookup(result, path)
            if isinstance(wanted, dict) and "$len" in wanted:
                assert len(actual) == wanted["$len"], f"{where}: {path} = {actual!r}"
            else:
                assert actual == wanted, f"{where}: {path} = {actual!r}, expected {wanted!r}"


def target(client: Any, step: Dict[str, Any], saved: Dict[str, Any]) -> Any:
    if "on" in step:
        return getattr(saved[step["on"] + "#object"], step["call"])
    *namespace, verb = step["call"].split(".")
    obj = client
    for part in namespace:
        if part != "client":
            obj = getattr(obj, part)
    return getattr(obj, verb)


def test_every_verb_of_the_contract_exists_and_is_exercised() -> None:
    with Sandbox(rate_limits="off") as sandbox:
        client = sandbox.client()
        tracker = client.tracker()
        called = {s["call"] if "on" not in s else "tracker." + s["call"] for sc in CONTRACT["scenarios"] for s in sc["steps"]}
        for namespace, verbs in CONTRACT["verbs"].items():
            for verb in verbs:
                obj: Any = tracker if namespace == "tracker" else client
                if namespace not in ("client", "tracker"):
                    for part in namespace.split("."):
                        obj = getattr(obj, part)
                assert callable(getattr(obj, verb, None)), f"the Python package lacks {namespace}.{verb}"
                assert f"{namespace}.{verb}" in called, f"no contract step calls {namespace}.{verb}"
        tracker.close()


@pytest.mark.parametrize("scenario", CONTRACT["scenarios"], ids=[s["name"] for s in CONTRACT["scenarios"]])
def test_scenario(scenario: Dict[str, Any]) -> None:
    with Sandbox(rate_limits="off") as sandbox:
        client = sandbox.client()
        saved: Dict[str, Any] = {}
        for number, step in enumerate(scenario["steps"]):
            where = f"step {number} ({step['call']})"
            args: List[Any] = resolve(step.get("args", []), saved)
            options: Dict[str, Any] = resolve(step.get("options", {}), saved)
            if step.get("settle"):
                sandbox.settled()
            fn = target(client, step, saved)
            if "error" in step:
                with pytest.raises(KlaviyoError) as caught:
                    canonical(fn(*args, **options))
                assert type(caught.value).__name__ == step["error"]["class"], f"{where}: {caught.value!r}"
                for words in step["error"]["message"]:
                    assert words in str(caught.value), f"{where}: {caught.value}"
                continue
            raw = fn(*args, **options)
            result = canonical(raw)
            if "save" in step:
                saved[step["save"]] = result
                saved[step["save"] + "#object"] = raw
            check(result, step.get("expect", {}), saved, where)
        state = sandbox.settled()
        for key, wanted in scenario.get("state", {}).items():
            assert state[key] == wanted, f"state {key} = {state[key]}, expected {wanted}"
