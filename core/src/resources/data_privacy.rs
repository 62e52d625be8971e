//! Data privacy: request deletion of a profile and all its data.

use serde_json::json;

use super::call;
use crate::client::{Client, RequestOptions};
use crate::error::Result;
use crate::resources::profiles::ProfileRef;

/// The `data_privacy` resource.
pub struct DataPrivacy<'a> {
    pub(crate) client: &'a Client,
}

impl DataPrivacy<'_> {
    /// Requests deletion of a profile (by id, email, phone number or external id).
    pub async fn delete_profile(&self, profile: &ProfileRef) -> Result<()> {
        profile.validate_for("profile to delete", self.client.config().binding)?;
        let body = json!({"data": {"type": "data-privacy-deletion-job", "attributes": {"profile": profile.to_relationship()}}});
        call(
            self.client,
            "request_profile_deletion",
            &[],
            Vec::new(),
            Some(body),
            &RequestOptions::default(),
        )
        .await
        .map(|_| ())
    }
}
