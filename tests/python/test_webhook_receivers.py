"""The sandbox delivers signed webhooks to receivers written with `klaviyo_bridge.webhooks`:
a Flask app and a bare ASGI app (served by uvicorn). Each verifies the delivery, processes it
once, and rejects a replay of it and a forged copy."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

from klaviyo_bridge import Client, WebhookVerificationError, webhooks

SECRET = "receiver-secret-0123456789"


class Received:
    """What a receiver processed, and the raw delivery it accepted."""

    def __init__(self) -> None:
        self.processed: List[Dict[str, Any]] = []
        self.rejected: List[str] = []
        self.raw: List[Tuple[bytes, Dict[str, str]]] = []
        self.first = threading.Event()

    def handle(self, body: bytes, headers: Dict[str, str], seen: Any) -> Tuple[int, str]:
        try:
            delivery = webhooks.verify(body, headers, secret=SECRET, seen=seen)
        except WebhookVerificationError as e:
            self.rejected.append(e.check)
            return (409 if e.check == "replay" else 400), e.check
        self.processed.append(delivery)
        self.raw.append((body, headers))
        self.first.set()
        return 200, "ok"


def flask_receiver(received: Received) -> Tuple[str, Callable[[], None]]:
    from flask import Flask, request
    from werkzeug.serving import make_server

    app = Flask("receiver")
    seen = webhooks.MemorySeenStore()

    @app.post("/hook")
    def hook() -> Tuple[str, int]:
        status, text = received.handle(request.get_data(), dict(request.headers), seen)
        return text, status

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/hook", server.shutdown


def asgi_receiver(received: Received) -> Tuple[str, Callable[[], None]]:
    import uvicorn

    class RedisLikeStore:
        """A custom seen-store (the protocol: first_time(key) -> bool)."""

        def __init__(self) -> None:
            self.keys: set = set()

        def first_time(self, key: str) -> bool:
            if key in self.keys:
                return False
            self.keys.add(key)
            return True

    seen = RedisLikeStore()

    async def app(scope: Dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        status, text = received.handle(body, headers, seen)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": text.encode()})

    # Bound and listening before the server thread starts: no readiness race.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(10)
        sock.close()

    return f"http://127.0.0.1:{sock.getsockname()[1]}/hook", stop


def post(url: str, body: bytes, headers: Dict[str, str]) -> Tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture(params=["flask", "asgi"])
def receiver(request: pytest.FixtureRequest) -> Iterator[Tuple[str, Received]]:
    received = Received()
    url, stop = (flask_receiver if request.param == "flask" else asgi_receiver)(received)
    yield url, received
    stop()


def test_sandbox_delivery_is_processed_once_and_replays_and_forgeries_are_refused(client: Client, receiver: Tuple[str, Received]) -> None:
    url, received = receiver
    client.webhooks.create(name="orders", endpoint_url=url, secret_key=SECRET, topics=["event:klaviyo.placed_order"])
    client.events.create(email="buyer@example.com", metric="Placed Order", properties={"value": 42})
    assert received.first.wait(15), "the sandbox delivered nothing"
    [delivery] = received.processed
    assert [item["topic"] for item in delivery["items"]] == ["event:klaviyo.placed_order"]

    body, headers = received.raw[0]
    assert post(url, body, headers) == (409, "replay")
    forged = json.loads(body)
    forged["data"][0]["payload"]["attributes"] = {"properties": {"value": 1_000_000}}
    assert post(url, json.dumps(forged).encode(), headers) == (400, "signature")
    assert post(url, body, {k: v for k, v in headers.items() if k.lower() != "klaviyo-signature"}) == (400, "missing_header")
    assert len(received.processed) == 1 and received.rejected == ["replay", "signature", "missing_header"]


def test_memory_seen_store_and_sign_round_trip() -> None:
    body = json.dumps({"data": [], "meta": {"klaviyo_webhook_id": "WH1", "timestamp": "2026-04-14T03:50:00+00:00"}}).encode()
    now = 1776138612.0  # 2026-04-14T03:50:12Z
    headers = webhooks.sign(body, secret=SECRET, webhook_id="WH1", timestamp=now)
    seen = webhooks.MemorySeenStore()
    assert webhooks.verify(body, headers, secret=SECRET, now=now, seen=seen)["webhook_id"] == "WH1"
    with pytest.raises(WebhookVerificationError) as replay:
        webhooks.verify(body, headers, secret=SECRET, now=now, seen=seen)
    assert replay.value.check == "replay"

    class Broken:
        def first_time(self, key: str) -> bool:
            raise RuntimeError("store unavailable")

    with pytest.raises(RuntimeError, match="store unavailable"):
        webhooks.verify(body, headers, secret=SECRET, now=now, seen=Broken())
