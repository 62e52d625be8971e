//! Cursor pagination for every paginated operation: follows `links.next` by its
//! `page[cursor]`, clamps `page[size]` to the operation's maximum, honours `max_items` and
//! `max_pages`, and can resume from a cursor. Only the current page is held in memory.

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use crate::client::{Client, RequestOptions};
use crate::error::{Error, Result};
use crate::operations::Operation;
use crate::resource::Resource;

/// What to list and how much of it.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    /// Klaviyo filter expression (see [`crate::filter::Filter`]).
    pub filter: Option<String>,
    /// Sort field, `-field` for descending.
    pub sort: Option<String>,
    /// Sparse fieldsets: `(type, fields)`, sent as `fields[type]=a,b`.
    pub fields: Vec<(String, Vec<String>)>,
    /// Related resources to include.
    pub include: Vec<String>,
    /// Page size; clamped to the operation's maximum.
    pub page_size: Option<u32>,
    /// Stop after this many items.
    pub max_items: Option<usize>,
    /// Stop after this many pages.
    pub max_pages: Option<usize>,
    /// Resume from this cursor (from [`Pager::cursor`] or a `links.next` URL).
    pub cursor: Option<String>,
    /// Any other query parameters (e.g. `additional-fields[profile]`).
    pub extra: Vec<(String, String)>,
    /// Per-request options for every page request.
    pub options: RequestOptions,
}

impl ListParams {
    /// Params with a filter.
    pub fn filter(filter: impl Into<String>) -> Self {
        ListParams {
            filter: Some(filter.into()),
            ..Self::default()
        }
    }
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct Page {
    /// The page's resources.
    pub data: Vec<Resource>,
    /// `included` resources.
    pub included: Vec<Resource>,
    /// The cursor of the next page (`None` on the last page).
    pub next_cursor: Option<String>,
}

/// One page as the raw JSON body, for bindings that parse JSON themselves.
#[derive(Debug, Clone)]
pub struct RawPage {
    /// The JSON body (re-serialized only when `max_items` cut the page short).
    pub body: Bytes,
    /// Items in `data`.
    pub item_count: usize,
    /// The cursor of the next page (`None` on the last page).
    pub next_cursor: Option<String>,
}

/// Walks the pages of one list operation.
#[derive(Debug)]
pub struct Pager {
    client: Client,
    op: &'static Operation,
    path: String,
    query: Vec<(String, String)>,
    options: RequestOptions,
    cursor: Option<String>,
    max_items: Option<usize>,
    max_pages: Option<usize>,
    pages_read: usize,
    items_read: usize,
    done: bool,
    /// A page was yielded but its `links.next` was unusable: raised on the next call, so the
    /// page's items are never lost to it.
    pending: Option<Error>,
}

#[derive(Deserialize)]
struct PageHead {
    #[serde(default)]
    data: Option<Vec<IgnoredAny>>,
    #[serde(default)]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    next: Option<String>,
}

/// The cursor a caller gave (a `links.next` URL or a bare cursor), or why it is none.
pub fn cursor(given: &str) -> Result<String> {
    cursor_from_link(given).ok_or_else(|| {
        Error::InvalidInput(format!("{given:?} is not a page cursor or links.next URL"))
    })
}

/// Extracts the `page[cursor]` value from a `links.next` URL; accepts a bare cursor too, one
/// still percent-encoded (cut out of such a URL by hand) included. `+` stays `+`: cursors are
/// base64.
pub fn cursor_from_link(link: &str) -> Option<String> {
    match url::Url::parse(link) {
        Ok(url) => url
            .query_pairs()
            .find(|(k, _)| k == "page[cursor]")
            .map(|(_, v)| v.into_owned()),
        Err(_) if !link.is_empty() && !link.contains("://") => Some(
            percent_encoding::percent_decode_str(link)
                .decode_utf8_lossy()
                .into_owned(),
        ),
        Err(_) => None,
    }
}

impl Pager {
    /// A pager over `op` at `path` (already rendered). Fails if `op` is not paginated.
    pub fn new(
        client: Client,
        op: &'static Operation,
        path: String,
        params: ListParams,
    ) -> Result<Self> {
        if !op.paginated {
            return Err(Error::InvalidInput(format!(
                "{} is not a paginated operation",
                op.id
            )));
        }
        let mut query = Vec::new();
        if let Some(filter) = params.filter {
            query.push(("filter".to_string(), filter));
        }
        if let Some(sort) = params.sort {
            query.push(("sort".to_string(), sort));
        }
        for (kind, fields) in params.fields {
            query.push((format!("fields[{kind}]"), fields.join(",")));
        }
        if !params.include.is_empty() {
            query.push(("include".to_string(), params.include.join(",")));
        }
        // Without an explicit size, ask for no more than max_items when that is below the default.
        let requested = params.page_size.or_else(|| {
            let default = op.page_size.map(|bounds| bounds.default as usize)?;
            params.max_items.filter(|n| *n < default).map(|n| n as u32)
        });
        if let Some(size) = op.clamp_page_size(requested) {
            query.push(("page[size]".to_string(), size.to_string()));
        }
        query.extend(params.extra);
        let cursor = params.cursor.as_deref().map(cursor).transpose()?;
        Ok(Pager {
            client,
            op,
            path,
            query,
            options: params.options,
            cursor,
            max_items: params.max_items,
            max_pages: params.max_pages,
            pages_read: 0,
            items_read: 0,
            done: params.max_items == Some(0) || params.max_pages == Some(0),
            pending: None,
        })
    }

    /// The cursor the next page will be fetched with: save it to resume later.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Whether the last page has been read.
    pub fn is_done(&self) -> bool {
        self.done
    }

    async fn fetch(&mut self) -> Result<Option<Bytes>> {
        if let Some(error) = self.pending.take() {
            return Err(error);
        }
        if self.done {
            return Ok(None);
        }
        let mut query = self.query.clone();
        if let Some(cursor) = &self.cursor {
            query.push(("page[cursor]".to_string(), cursor.clone()));
        }
        let response = self
            .client
            .execute(self.op, &self.path, &query, None, &self.options)
            .await?;
        Ok(Some(response.body))
    }

    /// Updates counters from a page; returns how many of its items to keep.
    fn advance(&mut self, item_count: usize, next: Option<String>) -> usize {
        self.pages_read += 1;
        let keep = self
            .max_items
            .map_or(item_count, |max| item_count.min(max - self.items_read));
        self.items_read += keep;
        self.cursor = next;
        self.done = self.cursor.is_none()
            || item_count == 0
            || self.max_items.is_some_and(|max| self.items_read >= max)
            || self.max_pages.is_some_and(|max| self.pages_read >= max);
        keep
    }

    fn decode_error(&self, e: impl std::fmt::Display, body: &[u8]) -> Error {
        Error::Decode {
            operation: self.op.id.to_string(),
            status: 200,
            message: e.to_string(),
            snippet: crate::error::snippet(body),
        }
    }

    /// The cursor in `links.next`; an unusable link ends the walk after this page, with an
    /// error that names it on the next call.
    fn next_cursor(&mut self, links_next: Option<String>) -> Option<String> {
        let link = links_next?;
        let cursor = cursor_from_link(&link);
        if cursor.is_none() {
            self.pending = Some(Error::Decode {
                operation: self.op.id.to_string(),
                status: 200,
                message: format!("links.next has no page[cursor]: {link}"),
                snippet: link,
            });
        }
        cursor
    }

    /// The next page, parsed; `None` after the last.
    pub async fn next_page(&mut self) -> Result<Option<Page>> {
        let Some(body) = self.fetch().await? else {
            return Ok(None);
        };
        let mut doc: Value =
            serde_json::from_slice(&body).map_err(|e| self.decode_error(e, &body))?;
        // The resources are moved out of the document, not copied: a page is parsed once.
        let mut resources = |member: &str| match doc.get_mut(member).map(Value::take) {
            Some(Value::Array(items)) => items.into_iter().map(Resource::new).collect(),
            _ => Vec::new(),
        };
        let mut data: Vec<Resource> = resources("data");
        let included: Vec<Resource> = resources("included");
        let next = self.next_cursor(
            doc.get("links")
                .and_then(|l| l.get("next"))
                .and_then(Value::as_str)
                .map(str::to_string),
        );
        let keep = self.advance(data.len(), next);
        data.truncate(keep);
        Ok(Some(Page {
            data,
            included,
            next_cursor: self.cursor.clone(),
        }))
    }

    /// The next page as raw JSON; only `links.next` is parsed in Rust.
    pub async fn next_page_raw(&mut self) -> Result<Option<RawPage>> {
        let Some(body) = self.fetch().await? else {
            return Ok(None);
        };
        let head: PageHead =
            serde_json::from_slice(&body).map_err(|e| self.decode_error(e, &body))?;
        let count = head.data.map_or(0, |d| d.len());
        let next = self.next_cursor(head.links.and_then(|l| l.next));
        let keep = self.advance(count, next);
        let body = if keep < count {
            let mut doc: Value =
                serde_json::from_slice(&body).map_err(|e| self.decode_error(e, &body))?;
            if let Some(Value::Array(items)) = doc.get_mut("data") {
                items.truncate(keep);
            }
            Bytes::from(serde_json::to_vec(&doc).map_err(|e| self.decode_error(e, b""))?)
        } else {
            body
        };
        Ok(Some(RawPage {
            body,
            item_count: keep,
            next_cursor: self.cursor.clone(),
        }))
    }

    /// The pages as a stream. Boxed, so it is `Unpin`: `.try_next().await` works on it as it
    /// is, without pinning it first (one allocation per pager, not per page).
    pub fn pages(self) -> BoxStream<'static, Result<Page>> {
        futures_util::stream::try_unfold(self, |mut pager| async move {
            Ok(pager.next_page().await?.map(|page| (page, pager)))
        })
        .boxed()
    }

    /// The items of every page as a stream (`Unpin`, like [`Pager::pages`]).
    pub fn items(self) -> BoxStream<'static, Result<Resource>> {
        use futures_util::TryStreamExt;
        self.pages()
            .map_ok(|page| futures_util::stream::iter(page.data.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_comes_from_links_next_or_is_taken_as_is() {
        assert_eq!(
            cursor_from_link(
                "https://a.klaviyo.com/api/profiles/?page%5Bcursor%5D=bmV4d%3D&page%5Bsize%5D=20"
            )
            .as_deref(),
            Some("bmV4d=")
        );
        assert_eq!(cursor_from_link("bmV4d").as_deref(), Some("bmV4d"));
        // Cut out of a URL by hand, still encoded: decoded once; a base64 `+` stays.
        assert_eq!(cursor_from_link("bmV4d%3D").as_deref(), Some("bmV4d="));
        assert_eq!(cursor_from_link("a+b/c=").as_deref(), Some("a+b/c="));
        assert_eq!(
            cursor_from_link("https://a.klaviyo.com/api/profiles/"),
            None
        );
    }
}
