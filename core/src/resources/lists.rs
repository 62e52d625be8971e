//! Lists: CRUD, members, and adding/removing profiles in chunks of 1,000.

use serde_json::json;

use super::{all_valid, call, call_one, envelope, non_empty, pager, send_batch, to_many};
use crate::bulk::{BulkReport, Item, chunk};
use crate::client::{Client, RequestOptions};
use crate::error::{BulkFailure, Result};
use crate::operations::bulk_limit;
use crate::pagination::{ListParams, Pager};
use crate::resource::Resource;

/// The `lists` resource.
pub struct Lists<'a> {
    pub(crate) client: &'a Client,
}

impl Lists<'_> {
    /// Creates a list.
    pub async fn create(&self, name: &str) -> Result<Resource> {
        call_one(
            self.client,
            "create_list",
            &[],
            Some(envelope(
                "list",
                None,
                json!({"name": non_empty("list name", name)?}),
                None,
            )),
        )
        .await
    }
    /// Gets a list.
    pub async fn get(&self, id: &str) -> Result<Resource> {
        call_one(
            self.client,
            "get_list",
            &[("id", non_empty("list id", id)?)],
            None,
        )
        .await
    }
    /// Renames a list.
    pub async fn update(&self, id: &str, name: &str) -> Result<Resource> {
        let id = non_empty("list id", id)?;
        call_one(
            self.client,
            "update_list",
            &[("id", id)],
            Some(envelope(
                "list",
                Some(id),
                json!({"name": non_empty("list name", name)?}),
                None,
            )),
        )
        .await
    }
    /// Deletes a list.
    pub async fn delete(&self, id: &str) -> Result<()> {
        call(
            self.client,
            "delete_list",
            &[("id", non_empty("list id", id)?)],
            Vec::new(),
            None,
            &RequestOptions::default(),
        )
        .await
        .map(|_| ())
    }
    /// Lists lists.
    pub fn list(&self, params: ListParams) -> Result<Pager> {
        pager(self.client, "get_lists", &[], params)
    }
    /// The profiles on a list.
    pub fn profiles(&self, id: &str, params: ListParams) -> Result<Pager> {
        pager(
            self.client,
            "get_profiles_for_list",
            &[("id", non_empty("list id", id)?)],
            params,
        )
    }
    /// Adds profiles (by id) to a list, 1,000 per request.
    pub async fn add_profiles(&self, id: &str, profile_ids: &[&str]) -> Result<BulkReport> {
        self.relationship(id, profile_ids, "add_profiles_to_list")
            .await
    }
    /// Removes profiles (by id) from a list, 1,000 per request.
    pub async fn remove_profiles(&self, id: &str, profile_ids: &[&str]) -> Result<BulkReport> {
        self.relationship(id, profile_ids, "remove_profiles_from_list")
            .await
    }

    async fn relationship(&self, id: &str, profile_ids: &[&str], op: &str) -> Result<BulkReport> {
        let id = non_empty("list id", id)?;
        let total = profile_ids.len();
        let checked = profile_ids
            .iter()
            .enumerate()
            .map(|(index, p)| {
                if p.trim().is_empty() {
                    Err(BulkFailure {
                        index,
                        key: None,
                        reason: "empty profile id".into(),
                    })
                } else {
                    Ok(Item::new(index, Some(p.to_string()), json!(p)))
                }
            })
            .collect();
        let mut report = BulkReport::default();
        for batch in chunk(all_valid(checked)?, bulk_limit(op))? {
            let body = |ids: Vec<serde_json::Value>| {
                to_many("profile", ids.iter().filter_map(serde_json::Value::as_str))
            };
            send_batch(self.client, op, &[("id", id)], batch, body, &mut report).await;
        }
        report.into_result(total)
    }
}
