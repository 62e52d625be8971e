//! Request bodies more than one test sends.

use serde_json::{Value, json};

/// A flow whose definition sends one email after a delay.
pub fn welcome_flow(list_id: &str) -> Value {
    json!({"data": {"type": "flow", "attributes": {"name": "Welcome", "definition": {
        "triggers": [{"type": "list", "id": list_id}],
        "actions": [
            {"temporary_id": "wait", "type": "time-delay", "links": {"next": "mail"}, "data": {"unit": "days", "value": 1, "secondary_value": 0, "timezone": "profile", "delay_until_weekdays": ["monday"]}},
            {"temporary_id": "mail", "type": "send-email", "links": {"next": null}, "data": {"status": "draft", "message": {"from_email": "shop@example.com", "from_label": "Shop", "subject_line": "Welcome!", "smart_sending_enabled": true, "transactional": false, "add_tracking_params": false}}}
        ],
        "entry_action_id": "wait"}}}})
}
