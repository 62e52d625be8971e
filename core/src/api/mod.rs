//! The typed surface of every operation: `client.<namespace>().<operation_id>(params)`
//! (generated from the spec in `generated.rs`) and the [`Call`] every language's typed
//! method goes through: named arguments in, checked against the operation's description,
//! a request or a pager out. Above the operation table and the client, below the bindings.

mod call;
// Written by klaviyo-codegen, whose drift test compares it byte for byte: rustfmt leaves it be.
#[rustfmt::skip]
mod generated;

pub use call::{Call, to_args};
pub use generated::*;
