//! Hand-written behaviour on top of the spec engine, where users' tests depend on it: campaign
//! sends that move through their statuses and record each recipient's `Received Email` (with
//! `$message`, so reports count them), cancelling or reverting a send, recipient estimation,
//! template rendering and cloning, coupon codes made by their bulk job, a flow's actions and
//! messages made from its definition, custom-object records ingested through a data source
//! and its source mapping, and segment membership (see `segments`).

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use klaviyo_bridge::operations::Operation;
use serde_json::{Value, json};

use super::{answer, keep_linked, linkage, lookup, segments};
use crate::pagination::{ListQuery, page, sparse};
use crate::table::Rows;
use crate::{Shared, Store, error};

/// Handles `op` when it has behaviour of its own; None leaves it to the engine.
pub(super) fn handle(
    shared: &Arc<Shared>,
    store: &mut Store,
    op: &Operation,
    document: &Value,
    path_id: &str,
    query: &ListQuery,
) -> Option<Response> {
    let data = &document["data"];
    Some(match op.id {
        "get_profiles_for_segment" | "get_profile_ids_for_segment" => {
            segment_profiles(store, op, path_id, query)
        }
        "get_segment" => {
            let segment = lookup(store, "segment", path_id)?;
            let mut body = super::built(op, Some(json!({"data": sparse(segment.clone(), query)})));
            // Klaviyo counts members only when asked (`additional-fields[segment]=profile_count`).
            if query
                .get("additional-fields[segment]")
                .is_some_and(|f| f.split(',').any(|f| f.trim() == "profile_count"))
            {
                body["data"]["attributes"]["profile_count"] =
                    json!(segments::members(store, &segment).len());
            }
            crate::json_api(StatusCode::OK, body)
        }
        "send_campaign" => send(shared, store, op, data["id"].as_str().unwrap_or_default()),
        "cancel_campaign_send" => cancel(
            store,
            op,
            path_id,
            data["attributes"]["action"].as_str().unwrap_or_default(),
        ),
        "refresh_campaign_recipient_estimation" => {
            estimate(store, op, data["id"].as_str().unwrap_or_default())
        }
        "render_template" => render(store, op, data),
        "clone_template" => clone_template(store, op, data),
        "bulk_create_coupon_codes" => coupon_codes(store, op, data),
        "upload_image_from_url" => super::images::from_url(store, op, data),
        "create_data_source_record" | "bulk_create_data_source_records" => {
            let source = data["relationships"]["data-source"]["data"]["id"]
                .as_str()
                .unwrap_or_default();
            let records: Vec<Value> =
                match data["attributes"]["data-source-records"]["data"].as_array() {
                    Some(items) => items.clone(),
                    None => vec![data["attributes"]["data-source-record"]["data"].clone()],
                };
            for record in &records {
                ingest(store, source, &record["attributes"]["record"]);
            }
            answer(op, None)
        }
        _ => return None,
    })
}

/// A segment's members, evaluated now, paged like any list (ids only for the relationship).
fn segment_profiles(
    store: &Store,
    op: &Operation,
    segment_id: &str,
    query: &ListQuery,
) -> Response {
    let Some(segment) = lookup(store, "segment", segment_id) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("A segment with id {segment_id} does not exist."),
            Some(json!({"parameter": "id"})),
        );
    };
    let members = segments::members(store, &segment);
    let rows: Vec<Value> = if op.id == "get_profile_ids_for_segment" {
        members
            .iter()
            .map(|id| json!({"type": "profile", "id": id}))
            .collect()
    } else {
        members
            .iter()
            .filter_map(|id| store.profiles.get(id))
            .collect()
    };
    match page(op.id, &Rows(rows.iter().collect()), query) {
        Ok(body) => answer(op, Some(body)),
        Err(response) => response,
    }
}

fn not_found(kind: &str, id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("A {kind} with id {id} does not exist."),
        Some(json!({"pointer": "/data/id"})),
    )
}

fn keep(store: &mut Store, kind: &str, id: &str, attributes: Value) -> Value {
    keep_linked(store, kind, id, attributes, json!({}))
}

fn set_status(store: &mut Store, kind: &str, id: &str, status: &str) {
    if let Some(resource) = store.resources.get_mut(kind).and_then(|m| m.get_mut(id)) {
        resource["attributes"]["status"] = json!(status);
    }
}

/// Profiles a campaign goes to: members of its included lists, less its excluded lists' and
/// anyone suppressed.
fn recipients(store: &Store, campaign: &Value) -> Vec<String> {
    let ids = |key: &str| -> Vec<String> {
        campaign["attributes"]["audiences"][key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l.as_str().map(str::to_string))
            .collect()
    };
    let excluded: Vec<String> = ids("excluded")
        .iter()
        .flat_map(|l| store.list_members.get(l).cloned().unwrap_or_default())
        .collect();
    let mut chosen: Vec<String> = Vec::new();
    for list in ids("included") {
        for profile in store.list_members.get(&list).into_iter().flatten() {
            let suppressed = store.profiles.get(profile).is_some_and(|p| {
                p["attributes"]["subscriptions"]["email"]["marketing"]["suppression"]
                    .as_array()
                    .is_some_and(|s| !s.is_empty())
            });
            if !excluded.contains(profile) && !chosen.contains(profile) && !suppressed {
                chosen.push(profile.clone());
            }
        }
    }
    chosen
}

/// `send_campaign`: a job `queued`, then `processing` (campaign `Sending`), then `complete`
/// (campaign `Sent`), one step each; at completion every recipient gets `Received Email`.
fn send(shared: &Arc<Shared>, store: &mut Store, op: &Operation, campaign_id: &str) -> Response {
    let Some(campaign) = lookup(store, "campaign", campaign_id) else {
        return not_found("campaign", campaign_id);
    };
    if campaign["attributes"]["status"] == "Sent" {
        return error(
            StatusCode::CONFLICT,
            "conflict",
            format!("Campaign {campaign_id} was already sent."),
            Some(json!({"pointer": "/data/id"})),
        );
    }
    let job = keep(
        store,
        "campaign-send-job",
        campaign_id,
        json!({"status": "queued"}),
    );
    set_status(store, "campaign", campaign_id, "Queued without Recipients");
    let shared = shared.clone();
    let id = campaign_id.to_string();
    tokio::spawn(async move {
        let step = shared.options.job_step;
        tokio::time::sleep(step).await;
        {
            let mut store = shared.store.lock().unwrap();
            if !still_running(&store, &id) {
                return;
            }
            set_status(&mut store, "campaign-send-job", &id, "processing");
            set_status(&mut store, "campaign", &id, "Sending");
        }
        tokio::time::sleep(step).await;
        let mut store = shared.store.lock().unwrap();
        if !still_running(&store, &id) {
            return;
        }
        let Some(campaign) = lookup(&store, "campaign", &id) else {
            return;
        };
        let name = campaign["attributes"]["name"].clone();
        let messages: Vec<String> = linkage(&campaign, "campaign-messages")
            .iter()
            .filter_map(|m| m["id"].as_str().map(str::to_string))
            .collect();
        for profile in recipients(&store, &campaign) {
            for message in &messages {
                store.record_event(&profile, "Received Email", &json!({"properties": {"$message": message, "Campaign Name": name}, "unique_id": format!("{message}:{profile}")}));
            }
        }
        set_status(&mut store, "campaign-send-job", &id, "complete");
        set_status(&mut store, "campaign", &id, "Sent");
        if let Some(c) = store
            .resources
            .get_mut("campaign")
            .and_then(|m| m.get_mut(&id))
        {
            c["attributes"]["send_time"] = json!(crate::store::now_iso());
        }
        drop(store);
        shared.settled.notify_waiters();
    });
    answer(op, Some(json!({"data": job})))
}

fn still_running(store: &Store, job: &str) -> bool {
    lookup(store, "campaign-send-job", job).is_some_and(|j| {
        matches!(
            j["attributes"]["status"].as_str(),
            Some("queued" | "processing")
        )
    })
}

/// `cancel_campaign_send`: `cancel` stops a send not yet complete (campaign `Cancelled`);
/// `revert` stops it and returns the campaign to `Draft`.
fn cancel(store: &mut Store, op: &Operation, job_id: &str, action: &str) -> Response {
    if lookup(store, "campaign-send-job", job_id).is_none() {
        return not_found("campaign-send-job", job_id);
    }
    if !still_running(store, job_id) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!(
                "The send of campaign {job_id} has finished; only a queued or processing send can be cancelled."
            ),
            Some(json!({"pointer": "/data/attributes/action"})),
        );
    }
    set_status(store, "campaign-send-job", job_id, "cancelled");
    set_status(
        store,
        "campaign",
        job_id,
        if action == "revert" {
            "Draft"
        } else {
            "Cancelled"
        },
    );
    answer(op, None)
}

/// `refresh_campaign_recipient_estimation`: the estimate is ready at once.
fn estimate(store: &mut Store, op: &Operation, campaign_id: &str) -> Response {
    let Some(campaign) = lookup(store, "campaign", campaign_id) else {
        return not_found("campaign", campaign_id);
    };
    let count = recipients(store, &campaign).len();
    keep(
        store,
        "campaign-recipient-estimation",
        campaign_id,
        json!({"estimated_recipient_count": count}),
    );
    let job = keep(
        store,
        "campaign-recipient-estimation-job",
        campaign_id,
        json!({"status": "complete"}),
    );
    answer(op, Some(json!({"data": job})))
}

/// Replaces `{{ name }}`, `{{ person.first_name }}` and `{{ name|default:'x' }}` with values
/// from `context`; unknown names without a default become empty, as in Klaviyo's templates.
fn render_text(text: &str, context: &Value) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find("}}") else {
            out.push_str(&rest[open..]);
            return out;
        };
        let expression = rest[open + 2..open + close].trim();
        let (path, default) = match expression.split_once("|default:") {
            Some((path, default)) => (path.trim(), Some(default.trim().trim_matches(['\'', '"']))),
            None => (expression, None),
        };
        let value = path.split('.').try_fold(context, |v, part| v.get(part));
        match (value, default) {
            (Some(Value::String(s)), _) => out.push_str(s),
            (Some(v), _) if !v.is_null() => out.push_str(&v.to_string()),
            (_, Some(default)) => out.push_str(default),
            _ => {}
        }
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    out
}

fn render(store: &mut Store, op: &Operation, data: &Value) -> Response {
    let id = data["id"].as_str().unwrap_or_default();
    let Some(mut template) = lookup(store, "template", id) else {
        return not_found("template", id);
    };
    let context = &data["attributes"]["context"];
    for field in ["html", "text"] {
        if let Some(text) = template["attributes"][field].as_str() {
            template["attributes"][field] = json!(render_text(text, context));
        }
    }
    answer(op, Some(json!({"data": template})))
}

fn clone_template(store: &mut Store, op: &Operation, data: &Value) -> Response {
    let source_id = data["id"].as_str().unwrap_or_default();
    let Some(source) = lookup(store, "template", source_id) else {
        return not_found("template", source_id);
    };
    let mut attributes = source["attributes"].clone();
    let name = data["attributes"]["name"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| {
            format!(
                "{} (copy)",
                attributes["name"].as_str().unwrap_or("Template")
            )
        });
    attributes["name"] = json!(name);
    attributes["created"] = json!(crate::store::now_iso());
    attributes["updated"] = json!(crate::store::now_iso());
    let id = store.new_id('T');
    let clone = keep(store, "template", &id, attributes);
    answer(op, Some(json!({"data": clone})))
}

/// `bulk_create_coupon_codes`: each code is made under its coupon at once; a code its coupon
/// already has, or a coupon that does not exist, counts as failed.
fn coupon_codes(store: &mut Store, op: &Operation, data: &Value) -> Response {
    let entries = data["attributes"]["coupon-codes"]["data"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let (mut completed, mut failed) = (0, 0);
    for entry in &entries {
        let code = entry["attributes"]["unique_code"]
            .as_str()
            .unwrap_or_default();
        let coupon = entry["relationships"]["coupon"]["data"]["id"]
            .as_str()
            .unwrap_or_default();
        let taken = store.resources.get("coupon-code").is_some_and(|codes| {
            codes.values().any(|c| {
                c["attributes"]["unique_code"] == code
                    && c["relationships"]["coupon"]["data"]["id"] == coupon
            })
        });
        if code.is_empty() || taken || lookup(store, "coupon", coupon).is_none() {
            failed += 1;
            continue;
        }
        let id = format!("{coupon}-{code}");
        keep_linked(
            store,
            "coupon-code",
            &id,
            json!({"unique_code": code, "expires_at": entry["attributes"]["expires_at"], "status": "UNASSIGNED"}),
            json!({"coupon": {"data": {"type": "coupon", "id": coupon}}}),
        );
        completed += 1;
    }
    let id = store.new_id('J');
    let now = crate::store::now_iso();
    let job = keep(
        store,
        "coupon-code-bulk-create-job",
        &id,
        json!({"status": "complete", "created_at": now, "completed_at": now, "total_count": entries.len(), "completed_count": completed, "failed_count": failed, "errors": []}),
    );
    answer(op, Some(json!({"data": job})))
}

/// A value at a path such as `$.order.id` or `order.id`.
fn at_path<'a>(record: &'a Value, path: &str) -> &'a Value {
    path.trim_start_matches("$.")
        .trim_start_matches('$')
        .split('.')
        .filter(|p| !p.is_empty())
        .fold(record, |v, part| &v[part])
}

/// A data-source record becomes an object record of every object schema whose source mapping
/// reads from that source: its id is `<object type>:::<record id>` (the record's value at the
/// mapping's `id_path`), its properties the mapped values (by `data_path`, or constants).
fn ingest(store: &mut Store, source: &str, record: &Value) {
    let schemas: Vec<Value> = store
        .resources
        .get("object-schema")
        .map(|m| m.values().cloned().collect())
        .unwrap_or_default();
    for schema in schemas {
        let Some(mapping) = schema["relationships"]["source-mapping"]["data"]["id"]
            .as_str()
            .and_then(|id| lookup(store, "source-mapping", id))
        else {
            continue;
        };
        let mappings = mapping["attributes"]["property_mappings"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let Some(id_path) = mappings
            .iter()
            .find(|m| m["type"] == "simple" && m["source"]["source_id"] == source)
            .and_then(|m| m["source"]["id_path"].as_str())
        else {
            continue;
        };
        let record_id = match at_path(record, id_path) {
            Value::String(s) => s.clone(),
            Value::Null => continue,
            other => other.to_string(),
        };
        let names = schema["attributes"]["properties"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut properties = serde_json::Map::new();
        for m in &mappings {
            let Some(name) = names
                .iter()
                .find(|p| p["id"] == m["id"])
                .and_then(|p| p["name"].as_str())
            else {
                continue;
            };
            let value = match m["type"].as_str() {
                Some("constant") => m["value"].clone(),
                _ => at_path(
                    record,
                    m["source"]["data_path"].as_str().unwrap_or_default(),
                )
                .clone(),
            };
            properties.insert(name.to_string(), value);
        }
        let me = json!({"type": "object-schema", "id": schema["id"]});
        let object_type = store
            .resources
            .get("object-type")
            .into_iter()
            .flat_map(|m| m.values())
            .find(|t| {
                t["relationships"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .any(|(_, r)| {
                        r["data"] == me || r["data"].as_array().is_some_and(|l| l.contains(&me))
                    })
            });
        let type_id = object_type
            .and_then(|t| t["id"].as_str())
            .or(schema["id"].as_str())
            .unwrap_or_default()
            .to_string();
        keep_linked(
            store,
            "object-record",
            &format!("{type_id}:::{record_id}"),
            json!({"record_properties": properties}),
            json!({}),
        );
    }
}

/// What a new resource brings with it: a flow's actions and messages, a form's versions.
pub(crate) fn after_create(store: &mut Store, resource: &mut Value, attributes: &Value) {
    match resource["type"].as_str() {
        Some("flow") => flow_actions(store, resource, attributes),
        Some("form") => form_versions(store, resource, attributes),
        _ => {}
    }
}

/// A new form's versions, one per version of its definition, linked to it.
fn form_versions(store: &mut Store, resource: &mut Value, attributes: &Value) {
    let form = json!({"type": "form", "id": resource["id"]});
    let now = crate::store::now_iso();
    let versions = attributes["definition"]["versions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut refs = Vec::new();
    for (n, version) in versions.iter().enumerate() {
        let id = store.new_id('V');
        let form_type = version["type"]
            .as_str()
            .filter(|t| matches!(*t, "banner" | "embed" | "flyout" | "full_page" | "popup"))
            .unwrap_or("popup");
        let name = version["name"]
            .as_str()
            .map_or_else(|| format!("Version {}", n + 1), str::to_string);
        let status = if version["status"] == "live" {
            "live"
        } else {
            "draft"
        };
        keep_linked(
            store,
            "form-version",
            &id,
            json!({"form_type": form_type, "variation_name": name, "status": status, "created_at": now, "updated_at": now}),
            json!({"form": {"data": form}}),
        );
        refs.push(json!({"type": "form-version", "id": id}));
    }
    resource["relationships"]["form-versions"]["data"] = Value::Array(refs);
}

/// One flow-action per action of the definition, and a flow-message for each that sends
/// (email, SMS, push), linked both ways.
fn flow_actions(store: &mut Store, resource: &mut Value, attributes: &Value) {
    let flow = json!({"type": "flow", "id": resource["id"]});
    let now = crate::store::now_iso();
    let actions = attributes["definition"]["actions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut action_refs = Vec::new();
    for mut action in actions {
        let action_id = store.new_id('A');
        action["id"] = json!(action_id);
        let channel = action["type"]
            .as_str()
            .and_then(|t| t.strip_prefix("send-"))
            .filter(|c| matches!(*c, "email" | "sms" | "push-notification"));
        let mut message_refs = Vec::new();
        if let Some(channel) = channel {
            let message_id = store.new_id('F');
            let channel = if channel == "push-notification" {
                "push"
            } else {
                channel
            };
            let definition = action["data"]["message"].clone();
            keep_linked(
                store,
                "flow-message",
                &message_id,
                json!({"channel": channel, "definition": definition, "created": now, "updated": now}),
                json!({"flow-action": {"data": {"type": "flow-action", "id": action_id}}}),
            );
            message_refs.push(json!({"type": "flow-message", "id": message_id}));
        }
        keep_linked(
            store,
            "flow-action",
            &action_id,
            json!({"definition": action, "created": now, "updated": now}),
            json!({"flow": {"data": flow}, "flow-messages": {"data": message_refs}}),
        );
        action_refs.push(json!({"type": "flow-action", "id": action_id}));
    }
    resource["relationships"]["flow-actions"]["data"] = Value::Array(action_refs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_variables_paths_and_defaults() {
        let context = json!({"first_name": "Jane", "person": {"city": "Boston"}, "n": 3});
        assert_eq!(
            render_text(
                "Hi {{ first_name }} from {{person.city}} ({{ n }})",
                &context
            ),
            "Hi Jane from Boston (3)"
        );
        assert_eq!(
            render_text("Hi {{ nickname|default:'friend' }}{{ missing }}!", &context),
            "Hi friend!"
        );
        assert_eq!(render_text("open {{ brace", &context), "open {{ brace");
    }
}
