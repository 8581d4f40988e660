"""Paging, filtering and sorting of list responses (spp-api.md 0.4 and 14.12).

Query parameters: ``pageSize`` (default 100, at most 10000), ``pageStartIndex`` (0-based), ``filter`` (URL-encoded
JSON list of ``{"property", "value", "op"}``, criteria AND-ed) and ``sort`` (JSON list of
``{"property", "direction"}``). Properties are dotted paths into the rendered objects (``cluster.key``); a
list-valued property matches when any element does (``storageProfiles``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlencode

from .errors import BadRequest
from .http_types import Request

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 10000
OPERATORS = ("=", "IN", ">=", "<", ">", "<=", "!=")
_MISSING = object()

# Alternative spellings clients send, normalised before comparing (spp-api.md 14.8).
VALUE_SYNONYMS = {"status": {"CANCELLED": "CANCELED"}}
# Pseudo-properties of filters: sppmon counts the VMs of an SLA with storageProfileName (spp-api.md 2.2).
PROPERTY_ALIASES = {"storageProfileName": "storageProfiles"}


@dataclass(frozen=True)
class Criterion:
    property: str
    op: str
    value: Any


@dataclass(frozen=True)
class SortKey:
    property: str
    descending: bool


@dataclass(frozen=True)
class ListQuery:
    criteria: tuple[Criterion, ...]
    sort: tuple[SortKey, ...]
    page_size: int
    page_start: int

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> ListQuery:
        return cls(
            criteria=tuple(parse_filter(params.get("filter"))),
            sort=tuple(parse_sort(params.get("sort"))),
            page_size=_int_param(params, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
            page_start=_int_param(params, "pageStartIndex", 0, 0, None),
        )


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise BadRequest(f"{name} must be an integer, got {raw!r}.") from error
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise BadRequest(f"{name} must be {bounds}, got {value}.")
    return value


def _json_list(raw: str | None, name: str) -> list:
    if raw in (None, ""):
        return []
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise BadRequest(f"{name} is not valid JSON: {error}") from error
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise BadRequest(f"{name} must be a JSON list of objects.")
    return value


def parse_filter(raw: str | None) -> list[Criterion]:
    criteria = []
    for item in _json_list(raw, "filter"):
        prop, op = item.get("property"), str(item.get("op", "=")).upper()
        if not isinstance(prop, str) or not prop:
            raise BadRequest("Each filter criterion needs a 'property'.")
        if op not in OPERATORS:
            raise BadRequest(f"Unsupported filter op {op!r}; supported: {', '.join(OPERATORS)}.")
        if "value" not in item:
            raise BadRequest(f"The filter criterion on {prop!r} has no 'value'.")
        value = item["value"]
        if op == "IN" and not isinstance(value, list):
            value = [value]
        criteria.append(Criterion(prop, op, _normalise(prop, value)))
    return criteria


def parse_sort(raw: str | None) -> list[SortKey]:
    keys = []
    for item in _json_list(raw, "sort"):
        prop = item.get("property")
        if not isinstance(prop, str) or not prop:
            raise BadRequest("Each sort key needs a 'property'.")
        direction = str(item.get("direction", "ASC")).upper()
        if direction not in ("ASC", "DESC"):
            raise BadRequest(f"Sort direction must be ASC or DESC, got {direction!r}.")
        keys.append(SortKey(prop, direction == "DESC"))
    return keys


def _normalise(prop: str, value: Any) -> Any:
    synonyms = VALUE_SYNONYMS.get(prop.rsplit(".", 1)[-1])
    if not synonyms:
        return value
    if isinstance(value, list):
        return [synonyms.get(item, item) if isinstance(item, str) else item for item in value]
    return synonyms.get(value, value) if isinstance(value, str) else value


def lookup(item: Mapping, path: str) -> Any:
    path = PROPERTY_ALIASES.get(path, path)
    value: Any = item
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return str(left).lower() == str(right).lower()
    if left == right:
        return True
    left_number, right_number = _as_number(left), _as_number(right)
    if left_number is not None and right_number is not None:
        return left_number == right_number
    return str(left) == str(right)


def _compare(left: Any, right: Any) -> int:
    left_number, right_number = _as_number(left), _as_number(right)
    if left_number is not None and right_number is not None:
        return (left_number > right_number) - (left_number < right_number)
    left_text, right_text = str(left), str(right)
    return (left_text > right_text) - (left_text < right_text)


_SCALAR_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "=": _equal,
    "IN": lambda value, wanted: any(_equal(value, item) for item in wanted),
    ">=": lambda value, wanted: value is not None and _compare(value, wanted) >= 0,
    ">": lambda value, wanted: value is not None and _compare(value, wanted) > 0,
    "<=": lambda value, wanted: value is not None and _compare(value, wanted) <= 0,
    "<": lambda value, wanted: value is not None and _compare(value, wanted) < 0,
}


def matches(item: Mapping, criterion: Criterion) -> bool:
    value = lookup(item, criterion.property)
    if criterion.op == "!=":
        return not matches(item, Criterion(criterion.property, "=", criterion.value))
    if value is _MISSING:
        return False
    values = value if isinstance(value, list) else [value]
    values = [_normalise(criterion.property, element) for element in values]
    test = _SCALAR_TESTS[criterion.op]
    return any(test(element, criterion.value) for element in values)


def _sort_key(prop: str) -> Callable[[Mapping], tuple]:
    def key(item: Mapping) -> tuple:
        value = lookup(item, prop)
        if value is _MISSING or value is None:
            return (1, 0, "")  # absent values sort last
        number = _as_number(value)
        return (0, 0, number) if number is not None else (0, 1, str(value))

    return key


def select(items: Iterable[Mapping], query: ListQuery, default_sort: tuple[SortKey, ...] = ()) -> list[Mapping]:
    """Filtered and sorted items (all pages)."""
    selected = [item for item in items if all(matches(item, criterion) for criterion in query.criteria)]
    for sort_key in reversed(query.sort or default_sort):  # stable sorts, least significant key first
        selected.sort(key=_sort_key(sort_key.property), reverse=sort_key.descending)
    return selected


def list_body(
    request: Request,
    key: str,
    items: Iterable[Mapping],
    default_sort: tuple[SortKey, ...] = (),
    query: ListQuery | None = None,
) -> dict:
    """A list response: ``{key: [...page...], "total": n, "links": {"self", "nextPage"?}}``."""
    query = query or ListQuery.from_params(request.params)
    return page_body(request, key, select(items, query, default_sort), query)


def cached_list_body(
    request: Request,
    key: str,
    cache: Any,
    cache_key: tuple,
    build_items: Callable[[], Iterable[Mapping]],
    default_sort: tuple[SortKey, ...] = (),
) -> dict:
    """``list_body`` over a listing that ``cache`` (``state.ViewCache``) keeps between pages: ``build_items`` runs,
    and the items are filtered and sorted, only when the listing ``cache_key`` (with the query's filter and sort) is
    not kept. The caller's ``cache_key`` must name everything the items depend on besides the views' own data."""
    query = ListQuery.from_params(request.params)
    listing_key = (cache_key, request.params.get("filter"), request.params.get("sort"))
    selected = cache.listing(request.base_url, listing_key, lambda: select(build_items(), query, default_sort))
    return page_body(request, key, selected, query)


def page_body(request: Request, key: str, selected: list, query: ListQuery) -> dict:
    """The page of ``query`` out of the filtered and sorted items ``selected``, as ``list_body`` answers it."""
    start = query.page_start
    end = start + query.page_size
    links = {"self": {"href": _page_href(request, start, query.page_size)}}
    if end < len(selected):
        links["nextPage"] = {"href": _page_href(request, end, query.page_size)}
    if query.page_start > 0:
        links["prevPage"] = {"href": _page_href(request, max(0, query.page_start - query.page_size), query.page_size)}
    return {key: selected[start:end], "total": len(selected), "links": links}


def _page_href(request: Request, start: int, size: int) -> str:
    params = dict(request.params, pageStartIndex=str(start), pageSize=str(size))
    return f"{request.base_url}{request.path}?{urlencode(params)}"
