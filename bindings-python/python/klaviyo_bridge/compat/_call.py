"""How the official SDK's methods reach klaviyo-bridge: the arguments by the core's names
(the core checks them and sends the request through its rate limiter and retries), the
answer as official-style results, a failure as the official exception classes."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

from .. import errors as _errors
from .exceptions import from_error
from .results import Model

# The official SDK's option: results as plain dicts instead of model objects.
USE_DICTIONARY_FOR_RESPONSE_DATA = "USE_DICTIONARY_FOR_RESPONSE_DATA"


def _plain(value: Any) -> Any:
    """A body as data: the official SDK's model objects have `to_dict()`."""
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else value


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _seconds(timeout: Any) -> Optional[float]:
    """`_request_timeout`: seconds, or the official (connect, read) pair (the whole call then
    may take both)."""
    if timeout is None:
        return None
    if isinstance(timeout, (tuple, list)):
        return float(sum(timeout))
    return float(timeout)


class _Group:
    """One API group of `KlaviyoAPI` (`klaviyo.Profiles`, …)."""

    __slots__ = ("_api",)

    def __init__(self, api: Any) -> None:
        self._api = api

    def _call(self, operation_id: str, arguments: Dict[str, Any], request_timeout: Any, options: Optional[Dict[str, Any]], request_auth: Any = None) -> Any:
        args: Dict[str, Any] = {}
        form: Dict[str, Any] = {}
        for name, value in arguments.items():
            if value is None:
                continue
            if name.startswith("body."):
                form[name[5:]] = value
            elif name == "body":
                args["body"] = _plain(value)
            else:
                args[name] = value
        if form:
            args["body"] = form
        timeout = _seconds(request_timeout)
        if timeout is not None:
            args["timeout"] = timeout
        try:
            if request_auth is not None:
                # Sending with another account's credential under this client's rate limiter
                # would pace the wrong budget: one KlaviyoAPI per credential instead.
                raise _errors.InvalidInputError("_request_auth (another credential for one call) is not supported: make a KlaviyoAPI with that key")
            # A /client/* call names its account by public key (company_id).
            native = self._api._native_for(args.pop("company_id", None))
            body = native.document(operation_id, args)
        except _errors.KlaviyoError as error:
            raise from_error(error) from None
        if body is None:
            return None
        document = json.loads(body)
        merged = {**self._api.options, **(options or {})}
        # As the official SDK does: sparse fieldsets (any fields_* argument) answer a dict.
        sparse = any(name.startswith("fields") and value is not None for name, value in arguments.items())
        if sparse:
            # ... and, as it does then, without the fields that are null.
            return _without_nulls(document)
        if merged.get(USE_DICTIONARY_FOR_RESPONSE_DATA):
            return document
        return Model(document)

    def __repr__(self) -> str:
        return f"<klaviyo_bridge.compat {type(self).__name__}>"
