"""A drop-in for Klaviyo's official Python SDK (`klaviyo-api`): change

    from klaviyo_api import KlaviyoAPI

to

    from klaviyo_bridge.compat import KlaviyoAPI

and the same code runs on klaviyo-bridge: every API group and method of the official SDK for
this revision, by the same names (aliases included) and parameters, results read the same
way (`res.data[0].attributes.email`, `res.links.next`, `.to_dict()`), and exceptions of the
official classes (`ApiException` with `status`, `reason`, `body`, `headers`) that are also
klaviyo_bridge's typed errors. Underneath, calls go through klaviyo-bridge's core: its rate
limiter, retries (`max_retries` counts retries, as its name says), timeouts and pooled
connections. `klaviyo.client` is the native `klaviyo_bridge.Client` behind it, for moving on
gradually. The README's migration guide lists every difference.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from .. import Client as _Client
from ._call import USE_DICTIONARY_FOR_RESPONSE_DATA
from ._groups import GROUPS
from .exceptions import (
    OpenApiException,
    ApiException,
    ApiValueError,
    ApiTypeError,
    BadRequestException,
    UnauthorizedException,
    ForbiddenException,
    NotFoundException,
    ConflictException,
    RateLimitException,
    ServiceException,
    TimeoutException,
    NetworkException,
)
from .filter_builder import FilterBuilder
from .results import Model


# The longest a call waits for a client-side rate-limit slot: a steady window's length.
_RATE_LIMIT_WAIT = 60.0


class KlaviyoAPI:
    """The official `KlaviyoAPI`, on klaviyo-bridge. `api_key` (or `access_token`, an OAuth
    access token), `max_delay` (seconds: the longest wait before a retry), `max_retries`
    (retries after the first attempt), `test_host` (another base URL, e.g. a sandbox),
    `options` (`{"USE_DICTIONARY_FOR_RESPONSE_DATA": True}` for plain dicts)."""

    _REVISION = "2026-07-15"

    def __init__(self, api_key: Optional[str] = None, max_delay: float = 60, max_retries: int = 3, test_host: str = "", access_token: Optional[str] = None, options: Optional[Dict[str, Any]] = None) -> None:
        if api_key is None and access_token is None:
            raise ValueError("One of api_key or access_token must be provided to initialize KlaviyoAPI")
        self.api_key = api_key
        self.max_delay = max_delay
        self.max_retries = max_retries
        self.test_host = test_host
        self.access_token = access_token
        self.options: Dict[str, Any] = dict(options or {})
        self.client = self._make_client(public_key=None)
        self._native = self.client._native  # type: ignore[attr-defined]  # the native client behind it
        self._by_company: Dict[str, Any] = {}
        for attribute, group in GROUPS.items():
            setattr(self, attribute, group(self))

    def _make_client(self, public_key: Optional[str]) -> _Client:
        """A klaviyo_bridge Client with this KlaviyoAPI's settings (and `public_key` for /client/*)."""
        return _Client(
            None if self.access_token is not None else self.api_key,
            access_token=self.access_token,
            public_key=public_key,
            base_url=self.test_host or None,
            max_retries=self.max_retries,
            # The official SDK treats 0 or less as 0.1 s.
            max_delay=self.max_delay if self.max_delay > 0 else 0.1,
            # max_delay bounds retries there; pacing (which it does not do) waits its own time.
            rate_limit_wait=_RATE_LIMIT_WAIT,
        )

    def _native_for(self, company_id: Optional[str]) -> Any:
        """The native client, or one that also sends `company_id` as the public key."""
        if company_id is None:
            return self._native
        if company_id not in self._by_company:
            self._by_company[company_id] = self._make_client(public_key=company_id)._native  # type: ignore[attr-defined]
        return self._by_company[company_id]

    def __repr__(self) -> str:
        return f"<klaviyo_bridge.compat.KlaviyoAPI over {self.client!r}>"


__all__ = [
    "KlaviyoAPI",
    "FilterBuilder",
    "Model",
    "USE_DICTIONARY_FOR_RESPONSE_DATA",
    "OpenApiException",
    "ApiException",
    "ApiValueError",
    "ApiTypeError",
    "BadRequestException",
    "UnauthorizedException",
    "ForbiddenException",
    "NotFoundException",
    "ConflictException",
    "RateLimitException",
    "ServiceException",
    "TimeoutException",
    "NetworkException",
]
