"""The hand-written namespace stubs (`klaviyo_bridge/_verbs.pyi`, and `_verbs_async.pyi` derived
from it) match what the namespaces
hold at run time: every stubbed verb exists, with the stub's parameter names. (`mypy.stubtest`
in `make lint` checks the importable names and every generated operation; these classes describe
the objects behind `client.events`, `client.catalog.items`... and are not importable.)"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import klaviyo_bridge
from klaviyo_bridge import AsyncClient, Client

PACKAGE = Path(klaviyo_bridge.__file__).parent
# The client stubs, the hand-written verbs and their generated asyncio variants.
STUBS = [PACKAGE / name for name in ("__init__.pyi", "_verbs.pyi", "_verbs_async.pyi")]
CLASSES: Dict[str, ast.ClassDef] = {
    node.name: node for stub in STUBS for node in ast.parse(stub.read_text()).body if isinstance(node, ast.ClassDef)
}


def members(cls: ast.ClassDef) -> Iterator[Tuple[str, str]]:
    """(name, stub class it holds) for a client's namespaces and attributes."""
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and any(isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list):
            if isinstance(node.returns, ast.Name) and node.returns.id in CLASSES:
                yield node.name, node.returns.id
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(node.annotation, ast.Name) and node.annotation.id in CLASSES:
            yield node.target.id, node.annotation.id


def methods(cls: ast.ClassDef) -> List[ast.FunctionDef]:
    return [n for n in cls.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("__")]


def stub_parameters(fn: ast.FunctionDef) -> List[str]:
    args = fn.args
    return [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs][1:]


def check(runtime: Any, stub_class: str, where: str, seen: List[str]) -> None:
    cls = CLASSES[stub_class]
    for name, holds in members(cls):
        check(getattr(runtime, name), holds, f"{where}.{name}", seen)
    for fn in methods(cls):
        value = getattr(runtime, fn.name, None)
        assert callable(value), f"{where}.{fn.name} is stubbed but missing at run time"
        seen.append(f"{where}.{fn.name}")
        try:
            actual = [p for p in inspect.signature(value).parameters if p not in ("self",)]
        except (TypeError, ValueError):
            continue
        assert actual == stub_parameters(fn), f"{where}.{fn.name}: runtime {actual} != stub {stub_parameters(fn)}"


def test_every_stubbed_verb_exists_with_the_stubbed_parameters() -> None:
    seen: List[str] = []
    for client_class, client in (("Client", Client(api_key="pk_x", base_url="http://127.0.0.1:9")), ("AsyncClient", AsyncClient(api_key="pk_x", base_url="http://127.0.0.1:9"))):
        for name, holds in members(CLASSES[client_class]):
            check(getattr(client, name), holds, f"{client_class}.{name}", seen)
    # The walk reached the verbs of every namespace, sync and async.
    assert "Client.events.create" in seen and "AsyncClient.catalog.items.bulk_create" in seen
    assert len(seen) > 100, len(seen)
