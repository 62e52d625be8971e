"""Exceptions raised by klaviyo_bridge. Every one is a KlaviyoError with:

- ``code``: a stable string, the same in Rust, Python and Node (e.g. ``"rate_limited"``)
- ``status``: the HTTP status, when the error came from a response
- ``errors``: the parsed JSON:API ``errors`` list (dicts with id, code, title, detail, source)
- ``request_id``: the response's request id header, if any
- ``retry_after``: seconds to wait, for rate limits
"""

from __future__ import annotations

import builtins
from typing import Any, Dict, List, Optional


class KlaviyoError(Exception):
    """Base class of every error klaviyo_bridge raises."""

    code: str = "api_error"
    status: Optional[int] = None
    errors: List[Dict[str, Any]]
    request_id: Optional[str] = None
    retry_after: Optional[float] = None
    rate_limit: Optional[Dict[str, Optional[int]]] = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.errors = []


class ValidationError(KlaviyoError):
    """400/422: the API rejected the request's content."""


class InvalidInputError(ValidationError, ValueError):
    """The arguments are invalid; nothing was sent."""


class ConfigurationError(KlaviyoError, ValueError):
    """The client is misconfigured (missing or malformed key, bad base URL, …)."""


class AuthenticationError(KlaviyoError):
    """401: the key or token is missing, wrong or revoked."""


class PermissionDeniedError(KlaviyoError):
    """403: the key lacks a scope this operation needs."""


class NotFoundError(KlaviyoError):
    """404."""


class ConflictError(KlaviyoError):
    """409, e.g. creating a profile whose email exists (see ``errors[0]["meta"]``)."""


class RateLimitError(KlaviyoError):
    """429 after retries ran out; ``retry_after`` says how long to wait."""


class ServerError(KlaviyoError):
    """5xx after retries ran out."""


class TimeoutError(KlaviyoError, builtins.TimeoutError):
    """The request took longer than the timeout."""


class NetworkError(KlaviyoError, ConnectionError):
    """The connection failed or broke."""


class DecodeError(KlaviyoError):
    """A success response whose body could not be read."""


class BulkPartialError(KlaviyoError):
    """Some items of a bulk call failed. ``failures`` lists them (index, key, reason);
    ``accepted`` says how many the API took (0 when the input was rejected before sending)."""

    failures: List[Dict[str, Any]]
    total: int = 0
    accepted: int = 0


class WebhookVerificationError(KlaviyoError, ValueError):
    """A webhook delivery failed verification; ``check`` names which check."""

    check: str = ""


class ReauthorizationRequired(AuthenticationError):
    """The OAuth grant is gone (refresh answered invalid_grant): authorize the app again."""


class QueueFullError(KlaviyoError):
    """The tracker's queue is full (when_full="error"): the event was not queued."""


__all__ = [
    "KlaviyoError",
    "QueueFullError",
    "ValidationError",
    "InvalidInputError",
    "ConfigurationError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "RateLimitError",
    "ServerError",
    "TimeoutError",
    "NetworkError",
    "DecodeError",
    "BulkPartialError",
    "WebhookVerificationError",
    "ReauthorizationRequired",
]
