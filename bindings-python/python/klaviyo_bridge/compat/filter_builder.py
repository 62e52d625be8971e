"""The official SDK's `FilterBuilder`, built by klaviyo-bridge's core: values are quoted and
escaped, never altered (the official one strips whitespace inside values, so
`equals(name,"Spring sale")` became `equals(name,"Springsale")`), and each method returns the
builder, so calls chain (`FilterBuilder().equals(...).greater_than(...).build()`)."""

from __future__ import annotations

import datetime
from typing import Any, List, Tuple, Union

from .._native import filter_expression

_Scalar = Union[bool, int, float, str, datetime.datetime]
_NO_VALUE = object()


class FilterBuilder:
    def __init__(self) -> None:
        # (operator, field, value); `has` has no value.
        self.filters: List[Tuple[str, str, Any]] = []

    def _add(self, operator: str, field: str, value: Any, allowed: tuple, allow_list: bool) -> "FilterBuilder":
        if not isinstance(field, str):
            raise TypeError("field must be a string")
        items = value if isinstance(value, list) and allow_list else [value]
        if isinstance(value, list) and allow_list:
            if not value:
                raise ValueError("value cannot be an empty list")
            if len({type(v) for v in value}) > 1:
                raise TypeError("All items in value must be of the same type")
        for item in items:
            if not isinstance(item, allowed):
                raise TypeError(f"value must be one of {tuple(t.__name__ for t in allowed)}")
        self.filters.append((operator, field, value))
        return self

    def equals(self, field: str, value: Union[_Scalar, List[_Scalar]]) -> "FilterBuilder":
        return self._add("equals", field, value, (bool, int, float, str, datetime.datetime), True)

    def less_than(self, field: str, value: Union[int, float, datetime.datetime]) -> "FilterBuilder":
        return self._add("less-than", field, value, (int, float, datetime.datetime), False)

    def less_or_equal(self, field: str, value: Union[int, float, datetime.datetime]) -> "FilterBuilder":
        return self._add("less-or-equal", field, value, (int, float, datetime.datetime), False)

    def greater_than(self, field: str, value: Union[int, float, datetime.datetime]) -> "FilterBuilder":
        return self._add("greater-than", field, value, (int, float, datetime.datetime), False)

    def greater_or_equal(self, field: str, value: Union[int, float, datetime.datetime]) -> "FilterBuilder":
        return self._add("greater-or-equal", field, value, (int, float, datetime.datetime), False)

    def contains(self, field: str, value: Union[str, List[str]]) -> "FilterBuilder":
        return self._add("contains", field, value, (str,), True)

    def contains_any(self, field: str, value: List[str]) -> "FilterBuilder":
        return self._add("contains-any", field, value, (str,), True)

    def contains_all(self, field: str, value: List[str]) -> "FilterBuilder":
        return self._add("contains-all", field, value, (str,), True)

    def ends_with(self, field: str, value: str) -> "FilterBuilder":
        return self._add("ends-with", field, value, (str,), False)

    def starts_with(self, field: str, value: str) -> "FilterBuilder":
        return self._add("starts-with", field, value, (str,), False)

    def any(self, field: str, value: List[_Scalar]) -> "FilterBuilder":
        if not isinstance(value, list):
            raise TypeError("value must be a list")
        return self._add("any", field, value, (bool, int, float, str, datetime.datetime), True)

    def has(self, field: str) -> "FilterBuilder":
        """`has(field)`: the field is set."""
        if not isinstance(field, str):
            raise TypeError("field must be a string")
        self.filters.append(("has", field, _NO_VALUE))
        return self

    def build(self) -> str:
        """The conditions, AND-joined, as the `filter` parameter takes them."""
        return ",".join(f"has({field})" if value is _NO_VALUE else filter_expression([(operator, field, value)]) for operator, field, value in self.filters)
