//! Operations emulated from the spec keep state like Klaviyo: what is created can be read,
//! listed, changed, linked and deleted, and links are seen from both sides.

use klaviyo_bridge::Client;
use klaviyo_sandbox::{Options, RateLimits, example_request_body, start};
use serde_json::{Value, json};

async fn call(client: &Client, op: &str, id: Option<&str>, query: &[(&str, &str)], body: Option<Value>) -> Result<Value, klaviyo_bridge::Error> {
    let path: Vec<(&str, &str)> = id.map(|id| vec![("id", id)]).unwrap_or_default();
    client.request(op, &path, query, body).await.map(|d| d.raw().clone())
}

#[tokio::test]
async fn campaigns_and_tags_round_trip_through_the_spec_engine() {
    let sandbox = start(Options { rate_limits: RateLimits::Off, ..Options::default() }).await.unwrap();
    let client = Client::builder().api_key(sandbox.api_key()).base_url(sandbox.base_url()).max_retries(0).build().unwrap();
    let mut body = example_request_body("create_campaign").unwrap();
    body["data"]["attributes"]["name"] = json!("Spring sale");
    body["data"]["attributes"]["campaign-messages"] = json!({"data": [{"type": "campaign-message", "attributes": {"definition": {"channel": "email", "label": "Spring", "content": {"subject": "Hello", "from_email": "shop@example.com", "from_label": "Shop"}}}}]});
    let created = call(&client, "create_campaign", None, &[], Some(body)).await.unwrap();
    let id = created["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["data"]["attributes"]["name"], "Spring sale");
    assert!(created["data"]["links"]["self"].as_str().unwrap().starts_with(&sandbox.base_url()));

    let read = call(&client, "get_campaign", Some(&id), &[], None).await.unwrap();
    assert_eq!(read["data"]["attributes"]["name"], "Spring sale");
    let listed = call(&client, "get_campaigns", None, &[("filter", "equals(messages.channel,'email')")], None).await.unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let sms = call(&client, "get_campaigns", None, &[("filter", "equals(messages.channel,'sms')")], None).await.unwrap();
    assert_eq!(sms["data"], json!([]), "the channel filter reads the campaign's messages");
    let messages = call(&client, "get_messages_for_campaign", Some(&id), &[], None).await.unwrap();
    assert_eq!(messages["data"][0]["attributes"]["definition"]["content"]["subject"], "Hello");
    let message_id = messages["data"][0]["id"].as_str().unwrap().to_string();
    let owner = call(&client, "get_campaign_for_campaign_message", Some(&message_id), &[], None).await.unwrap();
    assert_eq!(owner["data"]["id"], id.as_str(), "a message knows its campaign");

    let renamed = call(&client, "update_campaign", Some(&id), &[], Some(json!({"data": {"type": "campaign", "id": id, "attributes": {"name": "Summer sale"}}}))).await.unwrap();
    assert_eq!(renamed["data"]["attributes"]["name"], "Summer sale");
    assert_eq!(call(&client, "get_campaign", Some(&id), &[], None).await.unwrap()["data"]["attributes"]["name"], "Summer sale");

    let tag = call(&client, "create_tag", None, &[], Some(json!({"data": {"type": "tag", "attributes": {"name": "seasonal"}}}))).await.unwrap();
    let tag_id = tag["data"]["id"].as_str().unwrap().to_string();
    call(&client, "tag_campaigns", Some(&tag_id), &[], Some(json!({"data": [{"type": "campaign", "id": id}]}))).await.unwrap();
    let tag_ids = call(&client, "get_tag_ids_for_campaign", Some(&id), &[], None).await.unwrap();
    assert_eq!(tag_ids["data"], json!([{"type": "tag", "id": tag_id}]), "the campaign sees the tag it was given");
    let tags = call(&client, "get_tags_for_campaign", Some(&id), &[], None).await.unwrap();
    assert_eq!(tags["data"][0]["attributes"]["name"], "seasonal");
    call(&client, "remove_tag_from_campaigns", Some(&tag_id), &[], Some(json!({"data": [{"type": "campaign", "id": id}]}))).await.unwrap();
    assert_eq!(call(&client, "get_tag_ids_for_campaign", Some(&id), &[], None).await.unwrap()["data"], json!([]));

    let bad = call(&client, "update_campaign", Some(&id), &[], Some(json!({"data": {"type": "campaign", "id": id, "attributes": {"name": ["not", "text"]}}}))).await.unwrap_err();
    assert_eq!(bad.errors()[0].source.as_ref().unwrap().pointer.as_deref(), Some("/data/attributes/name"));

    call(&client, "delete_campaign", Some(&id), &[], None).await.unwrap();
    assert_eq!(call(&client, "get_campaign", Some(&id), &[], None).await.unwrap_err().code(), "not_found");
    assert_eq!(call(&client, "delete_campaign", Some(&id), &[], None).await.unwrap_err().code(), "not_found");
}

#[test]
fn example_bodies_exist_for_operations_that_take_one() {
    assert!(example_request_body("create_flow").is_some_and(|b| b["data"]["type"] == "flow"));
    assert!(example_request_body("get_campaigns").is_none());
}
