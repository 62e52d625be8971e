//! The typed surface of every operation: `client.<namespace>().<operation_id>(params)`
//! (generated from the spec in `generated.rs`) and the [`Call`] every language's typed
//! method goes through: named arguments in, checked against the operation's description,
//! a request or a pager out. Above the operation table and the client, below the bindings.
//!
//! ```no_run
//! # async fn demo(client: klaviyo_bridge::Client) -> klaviyo_bridge::Result<()> {
//! use klaviyo_bridge::api::{CreateListParams, GetCampaignsParams};
//! let mut pager = client.campaigns().get_campaigns(GetCampaignsParams {
//!     filter: Some("equals(messages.channel,'email')".into()),
//!     fields_campaign: Some(vec!["name".into()]),
//!     ..Default::default()
//! })?;
//! while let Some(page) = pager.next_page().await? {
//!     for campaign in page.data {
//!         println!("{:?} {:?}", campaign.id(), campaign.attr_str("name"));
//!     }
//! }
//! let body = serde_json::json!({"data": {"type": "list", "attributes": {"name": "VIP"}}});
//! let list = client.lists().create_list(body, CreateListParams::default()).await?;
//! println!("{:?}", list.resource().map(|r| r.id().map(str::to_string)));
//! # Ok(()) }
//! ```

mod call;
// Written by klaviyo-codegen, whose drift test compares it byte for byte: rustfmt leaves it be.
#[rustfmt::skip]
mod generated;

pub use call::{Call, to_args};
pub use generated::*;
