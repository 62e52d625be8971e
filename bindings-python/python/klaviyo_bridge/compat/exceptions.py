"""The official SDK's exception classes (`openapi_client.exceptions`), each also the matching
klaviyo_bridge error: `except NotFoundException` and `except klaviyo_bridge.NotFoundError`
both catch a 404, with the official fields (`status`, `reason`, `body`, `headers`, `data`)
and klaviyo_bridge's (`code`, `errors`, `request_id`, `retry_after`). Differences from the
official classes: a 429 is a `RateLimitException` and a 409 a `ConflictException` (both still
`ApiException`s); timeouts and network failures are `ApiException`s too, with `status` None."""

from __future__ import annotations

import http
import json
from typing import Any, Dict, Optional

from .. import errors as _errors


class OpenApiException(Exception):
    """The base of every exception the official SDK raises."""


class ApiException(OpenApiException, _errors.KlaviyoError):
    """A failed call: `status`, `reason` (the HTTP reason phrase), `body` (the response's
    JSON:API errors document, as text), `headers`, `data` (always None here)."""

    status: Optional[int]
    reason: Optional[str]
    body: Optional[str]
    data: Any
    headers: Optional[Dict[str, str]]

    def __init__(self, status: Optional[int] = None, reason: Optional[str] = None, http_resp: Any = None, *, body: Optional[str] = None, data: Any = None) -> None:
        _errors.KlaviyoError.__init__(self, reason or (f"HTTP {status}" if status else "API error"))
        self.status = status
        self.reason = reason
        self.body = body
        self.data = data
        self.headers = None
        if http_resp is not None:
            self.status = self.status if self.status is not None else getattr(http_resp, "status", None)
            self.reason = self.reason if self.reason is not None else getattr(http_resp, "reason", None)

    def __str__(self) -> str:
        text = f"({self.status})\nReason: {self.reason}\n"
        if self.headers:
            text += f"HTTP response headers: {self.headers}\n"
        if self.data or self.body:
            text += f"HTTP response body: {self.data or self.body}\n"
        return text


class ApiValueError(OpenApiException, _errors.InvalidInputError):
    """The arguments are invalid; nothing was sent (klaviyo_bridge's InvalidInputError)."""

    def __str__(self) -> str:
        return _errors.InvalidInputError.__str__(self)


class ApiTypeError(ApiValueError, TypeError):
    """An argument of the wrong type; nothing was sent."""


class BadRequestException(ApiException, _errors.ValidationError):
    """400."""


class UnauthorizedException(ApiException, _errors.AuthenticationError):
    """401."""


class ForbiddenException(ApiException, _errors.PermissionDeniedError):
    """403."""


class NotFoundException(ApiException, _errors.NotFoundError):
    """404."""


class ConflictException(ApiException, _errors.ConflictError):
    """409 (the official SDK raises a plain ApiException)."""


class RateLimitException(ApiException, _errors.RateLimitError):
    """429 after retries ran out; `retry_after` says how long to wait (the official SDK
    raises a plain ApiException)."""


class ServiceException(ApiException, _errors.ServerError):
    """5xx after retries ran out."""


class TimeoutException(ApiException, _errors.TimeoutError):
    """The call took longer than its timeout (`status` None)."""


class NetworkException(ApiException, _errors.NetworkError):
    """The connection failed or broke (`status` None)."""


# klaviyo_bridge's class → the official-shaped class that is also it.
_BY_CLASS = [
    (_errors.ValidationError, BadRequestException),
    (_errors.AuthenticationError, UnauthorizedException),
    (_errors.PermissionDeniedError, ForbiddenException),
    (_errors.NotFoundError, NotFoundException),
    (_errors.ConflictError, ConflictException),
    (_errors.RateLimitError, RateLimitException),
    (_errors.ServerError, ServiceException),
    (_errors.TimeoutError, TimeoutException),
    (_errors.NetworkError, NetworkException),
]


def from_error(error: _errors.KlaviyoError) -> Exception:
    """The official-shaped exception for a klaviyo_bridge error, carrying all its fields."""
    if isinstance(error, OpenApiException):
        return error
    if isinstance(error, (_errors.InvalidInputError, _errors.ConfigurationError)):
        converted: Exception = (ApiTypeError if isinstance(error, TypeError) else ApiValueError)(str(error))
        converted.__dict__.update(error.__dict__)
        return converted
    cls = next((official for ours, official in _BY_CLASS if isinstance(error, ours)), ApiException)
    status = error.status
    exception = cls(status=status, reason=_reason(status) or str(error))
    exception.__dict__.update({k: v for k, v in error.__dict__.items() if k not in ("status",)})
    exception.args = (str(error),)
    if error.errors:
        exception.body = json.dumps({"errors": error.errors})
    headers = {}
    if error.request_id:
        headers["x-klaviyo-req-id"] = error.request_id
    if error.retry_after is not None:
        headers["Retry-After"] = f"{error.retry_after:g}"
    exception.headers = headers or None
    return exception


def _reason(status: Optional[int]) -> Optional[str]:
    try:
        return http.HTTPStatus(status).phrase if status else None
    except ValueError:
        return None


__all__ = [
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
