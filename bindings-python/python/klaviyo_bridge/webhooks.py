"""Verify Klaviyo webhook deliveries (and sign test ones), with no client needed.

Flask::

    delivery = webhooks.verify(request.get_data(), request.headers, secret=SECRET)

FastAPI / Starlette::

    delivery = webhooks.verify(await request.body(), request.headers, secret=SECRET)

`verify` raises WebhookVerificationError (`.check` says which check failed:
missing_header, signature, body, webhook_id, timestamp, replay).

Replay protection: pass `seen=` a MemorySeenStore (or your own object with
`first_time(key: str) -> bool`, e.g. backed by Redis SET NX) and a delivery processed
before raises with check "replay".
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Mapping, Optional, Protocol, Sequence, Tuple, Union

from ._native import MemorySeenStore, sign as _sign, verify as _verify

Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]]]


class SeenStore(Protocol):
    """Remembers processed deliveries: True the first time a key is recorded."""

    def first_time(self, key: str) -> bool: ...


def verify(
    body: bytes,
    headers: Headers,
    *,
    secret: Union[str, Sequence[str]],
    tolerance: Optional[float] = None,
    now: Optional[float] = None,
    timestamp_source: Optional[str] = None,
    seen: Optional[SeenStore] = None,
) -> Dict[str, Any]:
    """Checks the HMAC-SHA256 signature (constant time, any of several secrets), that the
    Klaviyo-Webhook-Id header matches the body, and freshness (`tolerance` seconds, 300 by
    default, read from the body's meta.timestamp unless timestamp_source="header"). Returns the delivery:
    {"webhook_id", "account_id", "timestamp", "items": [{"topic", "external_id", "payload"}]}.
    With `seen`, a delivery already processed raises (check "replay")."""
    if not isinstance(secret, str):
        secret = list(secret)
    return _verify(body, headers, secret=secret, tolerance=tolerance, now=now, timestamp_source=timestamp_source, seen=seen)  # type: ignore[no-any-return]


def sign(body: Union[bytes, str], *, secret: str, webhook_id: str = "test-webhook", timestamp: Optional[float] = None) -> Dict[str, str]:
    """The headers Klaviyo would send with `body`, to test your own receiver."""
    return _sign(body, secret=secret, webhook_id=webhook_id, timestamp=timestamp)  # type: ignore[no-any-return]


__all__ = ["verify", "sign", "MemorySeenStore", "SeenStore"]
