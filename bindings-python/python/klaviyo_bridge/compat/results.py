"""Results read the way the official SDK's are: `res.data[0].attributes.email`,
`res.links.next`, `res.to_dict()`, over the response document as the API sent it. Names
with `-` on the wire read with `_` (`relationships.push_tokens`); a field the response does
not carry reads as None (the official models do the same for their schema's fields);
timestamps read as `datetime`; custom data (`properties`, `event_properties`) reads as the
plain dict it was sent as, as in the official models."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any, Dict, Iterator

# Attribute names the official models give fields whose wire names are not identifiers.
_RENAMED = {"kx": ("_kx",)}
# Fields that hold the sender's own data: plain dicts, nothing converted.
_CUSTOM = ("properties", "event_properties")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


def _timestamp(text: str) -> Any:
    if len(text) < 16 or not _TIMESTAMP.fullmatch(text):
        return text
    try:
        return datetime.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return text


def _read(value: Any, raw_data: bool) -> Any:
    """A field's value as the official models give it."""
    if isinstance(value, dict):
        return Model(value, raw_data)
    if isinstance(value, list):
        return [_read(v, raw_data) for v in value]
    if isinstance(value, str) and not raw_data:
        return _timestamp(value)
    return value


def _plain(value: Any, raw_data: bool) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v, raw_data or k in _CUSTOM) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, raw_data) for v in value]
    if isinstance(value, str) and not raw_data:
        return _timestamp(value)
    return value


class Model:
    """One object of a response (the document, a resource, its attributes, …)."""

    __slots__ = ("_raw", "_raw_data")

    def __init__(self, raw: Dict[str, Any], raw_data: bool = False) -> None:
        self._raw = raw
        self._raw_data = raw_data

    def _key(self, name: str) -> Any:
        """The wire name behind an attribute: as is, with `-` for `_`, or one the official
        models rename (`datetime_`, `var_self`, `var_property`, `kx`)."""
        raw = self._raw
        for candidate in (name, name.replace("_", "-"), *_RENAMED.get(name, ()), name.removesuffix("_"), name.removeprefix("var_")):
            if candidate in raw:
                return candidate
        return None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        key = self._key(name)
        if key is None:
            return None
        return self[key]

    def __getitem__(self, key: str) -> Any:
        value = self._raw[key]
        if key in _CUSTOM and isinstance(value, dict):
            return value
        return _read(value, self._raw_data)

    def __contains__(self, key: str) -> bool:
        return self._key(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def to_dict(self) -> Dict[str, Any]:
        """The object as a dict, wire names, timestamps as `datetime`."""
        return _plain(self._raw, self._raw_data)  # type: ignore[no-any-return]

    def to_json(self) -> str:
        """The object as the API sent it, as JSON text."""
        return json.dumps(self._raw)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Model):
            return self._raw == other._raw
        if isinstance(other, dict):
            return self.to_dict() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Model({self._raw!r})"
