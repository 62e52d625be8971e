//! Lists: CRUD, members, and adding/removing profiles in chunks of 1,000.

use serde_json::json;

use super::{call, call_one, envelope, non_empty, pager, to_many};
use crate::bulk::{BulkReport, Item, JobRef, chunk};
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
        call_one(self.client, "create_list", &[], Some(envelope("list", None, json!({"name": non_empty("list name", name)?}), None))).await
    }
    /// Gets a list.
    pub async fn get(&self, id: &str) -> Result<Resource> {
        call_one(self.client, "get_list", &[("id", non_empty("list id", id)?)], None).await
    }
    /// Renames a list.
    pub async fn update(&self, id: &str, name: &str) -> Result<Resource> {
        let id = non_empty("list id", id)?;
        call_one(self.client, "update_list", &[("id", id)], Some(envelope("list", Some(id), json!({"name": non_empty("list name", name)?}), None))).await
    }
    /// Deletes a list.
    pub async fn delete(&self, id: &str) -> Result<()> {
        call(self.client, "delete_list", &[("id", non_empty("list id", id)?)], Vec::new(), None, &RequestOptions::default()).await.map(|_| ())
    }
    /// Lists lists.
    pub fn list(&self, params: ListParams) -> Result<Pager> {
        pager(self.client, "get_lists", &[], params)
    }
    /// The profiles on a list.
    pub fn profiles(&self, id: &str, params: ListParams) -> Result<Pager> {
        pager(self.client, "get_profiles_for_list", &[("id", non_empty("list id", id)?)], params)
    }
    /// Adds profiles (by id) to a list, 1,000 per request.
    pub async fn add_profiles(&self, id: &str, profile_ids: &[&str]) -> Result<BulkReport> {
        self.relationship(id, profile_ids, "add_profiles_to_list").await
    }
    /// Removes profiles (by id) from a list, 1,000 per request.
    pub async fn remove_profiles(&self, id: &str, profile_ids: &[&str]) -> Result<BulkReport> {
        self.relationship(id, profile_ids, "remove_profiles_from_list").await
    }

    async fn relationship(&self, id: &str, profile_ids: &[&str], op: &str) -> Result<BulkReport> {
        let id = non_empty("list id", id)?;
        let total = profile_ids.len();
        let empty: Vec<BulkFailure> = profile_ids
            .iter()
            .enumerate()
            .filter(|(_, p)| p.trim().is_empty())
            .map(|(index, _)| BulkFailure { index, key: None, reason: "empty profile id".into() })
            .collect();
        if !empty.is_empty() {
            return Err(crate::Error::BulkPartial { failures: empty, total, accepted: 0 });
        }
        let items = profile_ids.iter().enumerate().map(|(i, p)| Item::new(i, Some(p.to_string()), json!(p))).collect();
        let mut report = BulkReport::default();
        for batch in chunk(items, bulk_limit(op))? {
            let first_index = batch[0].index;
            let ids: Vec<String> = batch.iter().filter_map(|i| i.key.clone()).collect();
            let body = to_many("profile", ids.iter().map(String::as_str));
            match call(self.client, op, &[("id", id)], Vec::new(), Some(body), &RequestOptions::default()).await {
                Ok(_) => {
                    report.accepted += ids.len();
                    report.jobs.push(JobRef { id: None, first_index, item_count: ids.len() });
                }
                Err(e) => report.failures.extend(ids.iter().enumerate().map(|(k, p)| BulkFailure { index: first_index + k, key: Some(p.clone()), reason: e.to_string() })),
            }
        }
        report.into_result(total)
    }
}
