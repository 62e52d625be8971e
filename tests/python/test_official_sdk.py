"""Klaviyo's official Python SDK (`klaviyo-api` 24.0.0, revision 2026-07-15, the spec's) runs
unchanged against the sandbox: campaigns, flows, segments, templates, reporting, and its
documented pagination (`page_cursor=response.links.next`)."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import Sandbox

klaviyo_api = pytest.importorskip("klaviyo_api", reason="the official SDK is installed by `make test`")


def official(sandbox: Sandbox) -> Any:
    return klaviyo_api.KlaviyoAPI(sandbox.key, max_delay=0, max_retries=0, test_host=sandbox.url)


CAMPAIGN = {"data": {"type": "campaign", "attributes": {
    "name": "Spring sale", "audiences": {"included": ["LIST1"]},
    "campaign-messages": {"data": [{"type": "campaign-message", "attributes": {"definition": {
        "channel": "email", "label": "Spring", "content": {"subject": "Hello", "from_email": "shop@example.com", "from_label": "Shop"}}}}]}}}}


def test_documented_pagination_reads_every_profile_once(sandbox: Sandbox) -> None:
    api = official(sandbox)
    for i in range(25):
        api.Profiles.create_profile({"data": {"type": "profile", "attributes": {"email": f"p{i}@example.com"}}})
    seen, cursor, pages = [], None, 0
    while True:
        response = api.Profiles.get_profiles(page_size=10, page_cursor=cursor)
        seen += [profile.id for profile in response.data]
        pages += 1
        cursor = response.links.next
        if not cursor:
            break
    assert pages == 3
    assert len(seen) == 25 and len(set(seen)) == 25


def test_campaigns_round_trip(sandbox: Sandbox) -> None:
    api = official(sandbox)
    created = api.Campaigns.create_campaign(CAMPAIGN)
    campaign_id = created.data.id
    assert created.data.attributes.name == "Spring sale"
    listed = api.Campaigns.get_campaigns(filter="equals(messages.channel,'email')")
    assert [c.id for c in listed.data] == [campaign_id]
    assert api.Campaigns.get_campaigns(filter="equals(messages.channel,'sms')").data == []
    api.Campaigns.update_campaign(campaign_id, {"data": {"type": "campaign", "id": campaign_id, "attributes": {"name": "Summer sale"}}})
    assert api.Campaigns.get_campaign(campaign_id).data.attributes.name == "Summer sale"
    messages = api.Campaigns.get_messages_for_campaign(campaign_id)
    assert messages.data[0].attributes.definition["content"]["subject"] == "Hello"
    api.Campaigns.delete_campaign(campaign_id)
    with pytest.raises(Exception) as missing:
        api.Campaigns.get_campaign(campaign_id)
    assert "404" in str(missing.value)


def test_segments_templates_and_flows(sandbox: Sandbox) -> None:
    api = official(sandbox)
    segment = api.Segments.create_segment({"data": {"type": "segment", "attributes": {"name": "Gold", "definition": {"condition_groups": [{"conditions": [
        {"type": "profile-property", "property": "properties['tier']", "filter": {"type": "string", "operator": "equals", "value": "gold"}}]}]}}}})
    assert [s.id for s in api.Segments.get_segments().data] == [segment.data.id]
    template = api.Templates.create_template({"data": {"type": "template", "attributes": {"name": "Welcome", "editor_type": "CODE", "html": "<p>Hi {{ first_name }}</p>"}}})
    assert api.Templates.get_template(template.data.id).data.attributes.name == "Welcome"
    assert [t.id for t in api.Templates.get_templates().data] == [template.data.id]
    assert api.Flows.get_flows().data == []


def test_reporting_answers_in_the_sdks_models(sandbox: Sandbox) -> None:
    api = official(sandbox)
    report = api.Reporting.query_campaign_values({"data": {"type": "campaign-values-report", "attributes": {
        "statistics": ["opens", "clicks"], "timeframe": {"key": "last_30_days"}, "conversion_metric_id": "METRIC1"}}})
    assert report.data.type.value == "campaign-values-report"
    assert isinstance(report.data.attributes.results, list)
