"""Every operation of the spec is a typed method of the Python package, blocking and asyncio,
named by the documented rule (namespace = tag, method = operationId, parameters = query names
with brackets and dashes as `_`), and each one reaches the sandbox as that operation."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from klaviyo_bridge import AsyncClient, Client, ConfigurationError, InvalidInputError, KlaviyoError, Resource, ValidationError
from klaviyo_bridge.testing import Sandbox

ROOT = Path(__file__).resolve().parents[2]
SPEC = Path(os.environ.get("KLAVIYO_OPENAPI_SPEC", ROOT.parent / "shared" / "klaviyo-openapi" / "stable.json"))
METHODS = ("get", "post", "patch", "put", "delete")
# Values for the few required query parameters without a list of allowed values.
REQUIRED_VALUES = {"filter": "equals(id,'X')", "statistics": "average_rating"}


def snake(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def operations() -> List[Tuple[str, str, Dict[str, Any]]]:
    spec = json.loads(SPEC.read_text())
    found = []
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                op = dict(item[method], method=method, path=path)
                found.append((op["operationId"], op["tags"][0], op))
    return sorted(found)


pytestmark = pytest.mark.skipif(not SPEC.exists(), reason=f"no spec at {SPEC}")


def query_params(op: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [p for p in op.get("parameters", []) if p["in"] == "query" and p["name"] != "company_id"]


def path_params(op: Dict[str, Any]) -> List[str]:
    return [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]


def test_every_operation_is_a_method_named_by_the_rule() -> None:
    ops = operations()
    assert len(ops) == 345
    client, aclient = Client(api_key="pk_x", base_url="http://127.0.0.1:9"), AsyncClient(api_key="pk_x", base_url="http://127.0.0.1:9")
    for operation_id, tag, op in ops:
        for c in (client, aclient):
            method = getattr(getattr(c, snake(tag)), operation_id)
            parameters = inspect.signature(method).parameters
            positional = [p.name for p in parameters.values() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
            expected = path_params(op) + (["body"] if "requestBody" in op else []) + [snake(p["name"]) for p in query_params(op) if p.get("required")]
            assert positional == expected, operation_id
            for param in query_params(op):
                assert snake(param["name"]) in parameters, (operation_id, param["name"])
            assert {"timeout", "revision"} <= set(parameters)
            paginated = any(p["name"] == "page[cursor]" for p in query_params(op))
            assert ({"max_items", "max_pages"} <= set(parameters)) == paginated, operation_id
            assert inspect.iscoroutinefunction(method) == (c is aclient and not paginated), operation_id
            assert (method.__doc__ or "").startswith(op["summary"]), operation_id


def arguments(sandbox: Sandbox, operation_id: str, op: Dict[str, Any], image: Path) -> Tuple[List[Any], Dict[str, Any]]:
    args: List[Any] = ["NOPE"] * len(path_params(op))
    if "requestBody" in op:
        args.append({"file": str(image), "name": "logo"} if operation_id == "upload_image_from_file" else sandbox.example_body(operation_id))
    for param in query_params(op):
        if param.get("required"):
            allowed = param["schema"].get("enum")
            args.append(allowed[0] if allowed else REQUIRED_VALUES[param["name"]])
    return args, {}


def reached(sandbox: Sandbox, operation_id: str, method: str) -> bool:
    last = sandbox.requests()[-1]
    return bool(last["operation"] == operation_id and last["method"] == method.upper())


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(rate_limits="off", seed_data="demo") as s:
        yield s


@pytest.fixture()
def image(tmp_path: Path) -> Path:
    path = tmp_path / "logo.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    return path


def outcome(result: Any, error: BaseException | None, operation_id: str) -> None:
    """A typed result, or a typed error from the API; never a refusal of our own."""
    if error is not None:
        assert isinstance(error, KlaviyoError) and not isinstance(error, (InvalidInputError, ConfigurationError)), (operation_id, error)
        assert getattr(error, "status", None), (operation_id, error)
        return
    assert result is None or isinstance(result, Resource) or (isinstance(result, list) and all(isinstance(r, Resource) for r in result)), (operation_id, result)


def test_every_operation_reaches_the_sandbox_from_the_blocking_client(sandbox: Sandbox, image: Path) -> None:
    client = sandbox.client()
    answered = 0
    for operation_id, tag, op in operations():
        args, kwargs = arguments(sandbox, operation_id, op, image)
        method = getattr(getattr(client, snake(tag)), operation_id)
        result, error = None, None
        try:
            result = method(*args, **kwargs)
            if any(p["name"] == "page[cursor]" for p in query_params(op)):
                result = next(iter(result), None)
        except KlaviyoError as e:
            error = e
        outcome(result, error, operation_id)
        assert reached(sandbox, operation_id, op["method"]), operation_id
        answered += error is None
    # With placeholder ids and example bodies, id lookups answer 404 and some bodies a 400; the
    # rest (about 85 of the 116 operations without a path parameter) succeed.
    assert answered >= 80


def test_every_operation_reaches_the_sandbox_from_the_asyncio_client(sandbox: Sandbox, image: Path) -> None:
    async def sweep() -> None:
        client = sandbox.async_client()
        for operation_id, tag, op in operations():
            args, kwargs = arguments(sandbox, operation_id, op, image)
            method = getattr(getattr(client, snake(tag)), operation_id)
            result, error = None, None
            try:
                if any(p["name"] == "page[cursor]" for p in query_params(op)):
                    async for item in method(*args, **kwargs):
                        result = item
                        break
                else:
                    result = await method(*args, **kwargs)
            except KlaviyoError as e:
                error = e
            outcome(result, error, operation_id)
            assert reached(sandbox, operation_id, op["method"]), operation_id

    asyncio.run(sweep())


def test_arguments_are_checked_before_anything_is_sent(sandbox: Sandbox) -> None:
    client = sandbox.client()
    before = len(sandbox.requests())
    with pytest.raises(InvalidInputError, match=r"sort does not take \"nme\".*created_at"):
        client.campaigns.get_campaigns("equals(messages.channel,'email')", sort="nme")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"fields_tag does not take \"colour\""):
        client.tags.get_tags(fields_tag=["colour"])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match=r"ListCreateQuery at /data/attributes/name: 'name' is a required field"):
        client.lists.create_list({"data": {"type": "list", "attributes": {}}})  # type: ignore[typeddict-item]
    with pytest.raises(InvalidInputError, match=r"at /data/attributes/name: name must be a string, not 7"):
        client.lists.create_list({"data": {"type": "list", "attributes": {"name": 7}}})  # type: ignore[typeddict-item]
    with pytest.raises(InvalidInputError, match=r"at /data/type: \"lists\" is not a valid choice"):
        client.lists.create_list({"data": {"type": "lists", "attributes": {"name": "VIP"}}})  # type: ignore[typeddict-item]
    with pytest.raises(TypeError):
        client.campaigns.get_campaigns("x", fields_campain=["name"])  # type: ignore[call-arg]
    assert len(sandbox.requests()) == before, "nothing was sent"
    # Unknown extra attributes pass the client's check (the API adds fields over time): the
    # request is sent, and here the API itself refuses the attribute.
    with pytest.raises(ValidationError) as refused:
        client.lists.create_list({"data": {"type": "list", "attributes": {"name": "VIP", "added_later": True}}})  # type: ignore[typeddict-unknown-key]
    assert not isinstance(refused.value, InvalidInputError) and refused.value.status == 400
    assert len(sandbox.requests()) == before + 1


def test_generated_pagers_follow_every_page_and_resume(sandbox: Sandbox) -> None:
    client = sandbox.client()
    everything = [p.id for p in client.profiles.get_profiles(page_size=20, fields_profile=["email"])]
    assert len(everything) == len(set(everything)) > 40
    pager = client.profiles.get_profiles(page_size=20, max_pages=1)
    first = list(pager)
    assert len(first) == 20 and pager.cursor
    rest = [p.id for p in client.profiles.get_profiles(page_size=20, page_cursor=pager.cursor)]
    assert [p.id for p in first] + rest == everything
    assert len(list(client.profiles.get_profiles(max_items=7))) == 7


def test_namespaces_and_signatures_are_visible_to_help() -> None:
    text = inspect.getdoc(Client.campaigns) or ""
    assert "get_campaigns" in text
    assert "campaigns" in dir(Client) and "custom_objects" in dir(Client)
    client = Client(api_key="pk_x", base_url="http://127.0.0.1:9")
    signature = str(inspect.signature(client.campaigns.get_campaigns))
    assert signature.startswith("(filter, *, ") and "fields_campaign=None" in signature
    # The hand-written verbs sit beside the generated operations in the same namespace.
    assert callable(client.events.create) and callable(client.events.get_events)
    assert "create" in dir(client.events) and "get_events" in dir(client.events)


def test_a_namespace_is_loaded_when_first_used() -> None:
    import subprocess
    import sys

    script = (
        "import sys, klaviyo_bridge\n"
        "c = klaviyo_bridge.Client(api_key='pk_x', base_url='http://127.0.0.1:9')\n"
        "loaded = lambda: sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('klaviyo_bridge._operations.'))\n"
        "before = loaded(); c.campaigns.get_campaigns; c.events.create\n"
        "print(before, loaded())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[] ['campaigns', 'events']", out
