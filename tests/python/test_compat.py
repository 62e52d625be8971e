"""klaviyo_bridge.compat, the drop-in for Klaviyo's official Python SDK: every group and method
of the official `klaviyo-api` (installed by `make test`) with the same parameters; the
official README's kinds of calls run with only the import changed; one script run on both
against the same kind of sandbox gives the same results field by field; errors are the
official classes and klaviyo_bridge's at once."""

from __future__ import annotations

import datetime
import inspect
import urllib.parse
from typing import Any, Callable, Dict, List

import pytest

from klaviyo_bridge import NotFoundError, RateLimitError, ValidationError
from klaviyo_bridge import compat
from klaviyo_bridge.testing import Sandbox

klaviyo_api = pytest.importorskip("klaviyo_api", reason="the official SDK is installed by `make test`")


def _official_groups() -> Dict[str, type]:
    """The official KlaviyoAPI's groups: attribute name → the generated API class."""
    official = klaviyo_api.KlaviyoAPI("pk_not_used_000000000000000000000000", test_host="http://127.0.0.1:9")
    names = [n for n, v in vars(type(official)).items() if isinstance(v, property)]
    return {name: type(getattr(official, name)) for name in names}


def _methods(cls: type) -> List[str]:
    return sorted(
        n for n, v in vars(cls).items()
        if inspect.isfunction(v) and not n.startswith("_") and not n.endswith(("_with_http_info", "_without_preload_content"))
    )


def test_every_group_and_method_of_the_official_sdk_with_the_same_parameters() -> None:
    groups = _official_groups()
    assert len(groups) >= 20
    api = compat.KlaviyoAPI("pk_not_used_000000000000000000000000", test_host="http://127.0.0.1:9")
    checked = 0
    for name, cls in groups.items():
        ours = getattr(api, name)
        for method in _methods(cls):
            assert hasattr(ours, method), f"klaviyo.{name}.{method} is missing"
            theirs = list(inspect.signature(getattr(cls, method)).parameters)[1:]
            mine = list(inspect.signature(getattr(ours, method)).parameters)
            assert mine == theirs, f"klaviyo.{name}.{method}: {mine} != {theirs}"
            checked += 1
    assert checked > 345, "every operation, and its aliases"


def _mask(value: Any, key: str = "") -> Any:
    """Ids and timestamps differ from one sandbox to the next: compared by kind, not value. A
    null field and a missing one compare equal: the official SDK sends a body's unset optional
    fields as explicit nulls, which the sandbox then stores and shows."""
    if isinstance(value, dict):
        return {k: _mask(v, k) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_mask(v, key) for v in value]
    if key in ("id", "metric_id", "profile_id") and isinstance(value, str):
        return "<id>"
    if isinstance(value, str) and value.startswith("http://127.0.0.1:"):
        # Each sandbox has its own port, and the two clients order query parameters differently.
        url = urllib.parse.urlsplit(value)
        query = sorted(urllib.parse.parse_qsl(url.query))
        return (url.path, [(k, "<cursor>" if k == "page[cursor]" else v) for k, v in query])
    if isinstance(value, datetime.datetime):
        return "<datetime>"
    return value


def _script(KlaviyoAPI: Callable[..., Any], url: str, key: str) -> List[Any]:
    """The official README's kinds of calls, written for `klaviyo_api`; returns what each gave."""
    klaviyo = KlaviyoAPI(key, max_delay=60, max_retries=3, test_host=url)
    out: List[Any] = []
    # Profiles: create, read with sparse fields, page through with page_cursor=links.next.
    for i in range(12):
        klaviyo.Profiles.create_profile({"data": {"type": "profile", "attributes": {"email": f"reader{i}@example.com", "first_name": f"Reader {i}", "properties": {"signup": "2024-01-01T00:00:00Z"}}}})
    first = klaviyo.Profiles.get_profiles(page_size=5, sort="email")
    out.append(first.to_dict())
    emails, cursor = [], None
    while True:
        # With sparse fieldsets the official SDK answers plain dicts.
        page = klaviyo.Profiles.get_profiles(page_size=5, page_cursor=cursor, fields_profile=["email", "first_name"])
        emails += [p["attributes"]["email"] for p in page["data"]]
        cursor = page["links"].get("next")
        if not cursor:
            break
    out.append(emails)
    profile_id = first.data[0].id
    out.append(klaviyo.Profiles.get_profile(profile_id, fields_profile=["email", "properties"]))
    # Events: create (202, nothing back), then read them back by metric.
    result = klaviyo.Events.create_event({"data": {"type": "event", "attributes": {
        "properties": {"order": "A-1"}, "time": "2024-05-01T10:00:00Z", "value": 9.5, "unique_id": "order-A-1",
        "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
        "profile": {"data": {"type": "profile", "attributes": {"email": "reader0@example.com"}}}}}})
    out.append(result)
    events = klaviyo.Events.get_events(filter="equals(metric_id,\"%s\")" % klaviyo.Metrics.get_metrics().data[0].id, sort="-datetime")
    out.append([e.attributes.event_properties["order"] for e in events.data])
    # Catalogs: create an item, read it.
    item = klaviyo.Catalogs.create_catalog_item({"data": {"type": "catalog-item", "attributes": {
        "external_id": "SKU-1", "title": "Mug", "description": "A mug", "url": "https://shop.example.com/mug", "price": 12.0}}})
    out.append(klaviyo.Catalogs.get_catalog_item(item.data.id).data.attributes.to_dict())
    # Campaigns: create one, list by channel.
    campaign = klaviyo.Campaigns.create_campaign({"data": {"type": "campaign", "attributes": {
        "name": "Spring sale", "audiences": {"included": ["LIST1"]},
        "campaign-messages": {"data": [{"type": "campaign-message", "attributes": {"definition": {
            "channel": "email", "label": "Spring", "content": {"subject": "Hello", "from_email": "shop@example.com", "from_label": "Shop"}}}}]}}}})
    out.append(campaign.data.attributes.name)
    out.append([c.attributes.name for c in klaviyo.Campaigns.get_campaigns(filter="equals(messages.channel,'email')").data])
    # Lists: create, add a profile, read the members.
    newsletter = klaviyo.Lists.create_list({"data": {"type": "list", "attributes": {"name": "Newsletter"}}})
    klaviyo.Lists.add_profiles_to_list(newsletter.data.id, {"data": [{"type": "profile", "id": profile_id}]})
    out.append([p.attributes.email for p in klaviyo.Lists.get_profiles_for_list(newsletter.data.id).data])
    # Segments: read what the account has.
    out.append(klaviyo.Segments.get_segments().to_dict())
    return out


def test_the_same_script_gives_the_same_results_on_the_official_sdk_and_on_compat() -> None:
    with Sandbox() as theirs, Sandbox() as ours:
        official = _script(klaviyo_api.KlaviyoAPI, theirs.url, theirs.api_key)
        replaced = _script(compat.KlaviyoAPI, ours.url, ours.api_key)
    assert len(official) == len(replaced)
    for step, (a, b) in enumerate(zip(official, replaced)):
        assert _mask(b) == _mask(a), f"step {step}: compat {b!r} != official {a!r}"


def test_results_read_as_the_official_ones_do() -> None:
    with Sandbox() as sandbox:
        klaviyo = compat.KlaviyoAPI(sandbox.api_key, test_host=sandbox.url)
        created = klaviyo.Profiles.create_profile({"data": {"type": "profile", "attributes": {"email": "a@example.com", "properties": {"joined": "2024-01-01T00:00:00Z"}}}})
        profile = klaviyo.Profiles.get_profile(created.data.id)
        assert profile.data.attributes.email == "a@example.com"
        assert isinstance(profile.data.attributes.created, datetime.datetime)
        # Custom properties stay as sent, a plain dict.
        assert profile.data.attributes.properties == {"joined": "2024-01-01T00:00:00Z"}
        assert profile.data.attributes.phone_number is None
        assert profile.to_dict()["data"]["attributes"]["email"] == "a@example.com"
        # The names the official models give fields that are not identifiers.
        assert profile.data.links.var_self.endswith(f"/api/profiles/{created.data.id}/")
        klaviyo.Events.create_event({"data": {"type": "event", "attributes": {"properties": {}, "metric": {"data": {"type": "metric", "attributes": {"name": "Viewed"}}}, "profile": {"data": {"type": "profile", "attributes": {"email": "a@example.com"}}}}}})
        event = klaviyo.Events.get_events().data[0]
        assert isinstance(event.attributes.datetime_, datetime.datetime)
        # Another credential for one call would be paced under this client's budget: refused.
        with pytest.raises(compat.ApiValueError, match="_request_auth"):
            klaviyo.Profiles.get_profiles(_request_auth={"type": "api_key", "value": "Klaviyo-API-Key pk_other"})
        plain = compat.KlaviyoAPI(sandbox.api_key, test_host=sandbox.url, options={compat.USE_DICTIONARY_FOR_RESPONSE_DATA: True})
        assert plain.Profiles.get_profile(created.data.id)["data"]["attributes"]["email"] == "a@example.com"


def test_errors_are_the_official_classes_and_klaviyo_bridges() -> None:
    with Sandbox() as sandbox:
        klaviyo = compat.KlaviyoAPI(sandbox.api_key, test_host=sandbox.url, max_retries=0)
        with pytest.raises(compat.NotFoundException) as missing:
            klaviyo.Profiles.get_profile("01NOTAPROFILE0000000000000")
        error = missing.value
        assert isinstance(error, compat.ApiException) and isinstance(error, NotFoundError)
        assert (error.status, error.reason) == (404, "Not Found")
        assert '"errors"' in (error.body or "") and error.errors
        with pytest.raises(compat.BadRequestException) as bad:
            klaviyo.Profiles.get_profiles(filter='equals(no_such_field,"a")')
        assert isinstance(bad.value, ValidationError) and bad.value.status == 400
        # Checked before sending: nothing reaches the server.
        with pytest.raises(compat.ApiValueError):
            klaviyo.Profiles.get_profiles(sort="no-such-field")
        wrong = compat.KlaviyoAPI("pk_wrong_key_00000000000000000000000000", test_host=sandbox.url)
        with pytest.raises(compat.UnauthorizedException):
            wrong.Profiles.get_profiles()
        assert issubclass(compat.RateLimitException, RateLimitError) and issubclass(compat.RateLimitException, compat.ApiException)


def test_oauth_access_tokens_are_sent_as_bearer() -> None:
    with Sandbox() as sandbox:
        klaviyo = compat.KlaviyoAPI(access_token=sandbox.issue_token(), test_host=sandbox.url)
        assert klaviyo.Accounts.get_accounts().data[0].type == "account"
        assert sandbox.requests()[-1]["headers"]["authorization"].startswith("Bearer ")


def test_filter_builder_keeps_values_whole_and_chains() -> None:
    built = (
        compat.FilterBuilder()
        .equals("name", "Spring sale")
        .greater_than("datetime", datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
        .any("status", ["draft", "sent"])
        .has("email")
        .build()
    )
    assert built == 'equals(name,"Spring sale"),greater-than(datetime,2024-01-01T00:00:00+00:00),any(status,["draft","sent"]),has(email)'
    # The official builder strips whitespace inside values.
    from klaviyo_api.filter_builder import FilterBuilder as OfficialFilterBuilder

    official = OfficialFilterBuilder()
    assert official.equals("name", "Spring sale") is None
    assert official.build() == 'equals(name,"Springsale")'
    with pytest.raises(TypeError):
        compat.FilterBuilder().less_than("datetime", "yesterday")
