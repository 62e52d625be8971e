//! Accounts: the account the key belongs to.

use super::{call, call_one, non_empty};
use crate::client::{Client, RequestOptions};
use crate::error::{Error, Result};
use crate::resource::Resource;

/// The `accounts` resource.
pub struct Accounts<'a> {
    pub(crate) client: &'a Client,
}

impl Accounts<'_> {
    /// The key's account (the first of `get_accounts`). A cheap way to check a key.
    pub async fn current(&self) -> Result<Resource> {
        let doc = call(
            self.client,
            "get_accounts",
            &[],
            Vec::new(),
            None,
            &RequestOptions::default(),
        )
        .await?;
        doc.resources()
            .into_iter()
            .next()
            .ok_or_else(|| Error::Decode {
                operation: "get_accounts".into(),
                status: 200,
                message: "no account in the response".into(),
                snippet: String::new(),
            })
    }
    /// Gets an account by id.
    pub async fn get(&self, id: &str) -> Result<Resource> {
        call_one(
            self.client,
            "get_account",
            &[("id", non_empty("account id", id)?)],
            None,
        )
        .await
    }
}
