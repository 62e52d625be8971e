//! Pagination against a scripted server: every page followed, page size clamped, limits
//! honoured, resumable, and memory flat however many pages are read.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use futures_util::TryStreamExt;
use klaviyo_bridge::ListParams;
use serde_json::json;
use support::{Reply, Server, serve};

/// Counts live heap bytes so the test can see how much memory iteration holds.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live =
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed) + layout.size() as isize;
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Serves `pages` pages of `per_page` profiles; the cursor is the page number.
async fn profile_server(pages: usize, per_page: usize) -> Server {
    serve(move |seen, _| {
        let page: usize = seen.query.get("page[cursor]").map_or(0, |c| c.trim_start_matches("c").parse().unwrap());
        let data: Vec<_> = (0..per_page)
            .map(|i| json!({"type": "profile", "id": format!("P{page}-{i}"), "attributes": {"email": format!("user{page}-{i}@example.com"), "first_name": null, "properties": {"tier": "gold", "padding": "x".repeat(100)}}}))
            .collect();
        let next = (page + 1 < pages).then(|| format!("http://127.0.0.1/api/profiles/?page%5Bcursor%5D=c{}&page%5Bsize%5D={per_page}", page + 1));
        Reply::json(200, json!({"data": data, "links": {"self": "x", "next": next, "prev": null}}))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_every_page_with_flat_memory() {
    let server = profile_server(400, 100).await;
    let client = server.client().rate_limit(false).build().unwrap();
    let mut pager = client
        .profiles()
        .list(ListParams {
            page_size: Some(100),
            ..Default::default()
        })
        .unwrap();
    // Warm up (connection pool, first buffers), then measure the peak over the rest.
    let first = pager.next_page().await.unwrap().unwrap();
    assert_eq!(first.data.len(), 100);
    drop(first);
    let baseline = LIVE.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    let mut items = 100;
    let mut bytes_seen = 0usize;
    while let Some(page) = pager.next_page().await.unwrap() {
        items += page.data.len();
        bytes_seen += page
            .data
            .iter()
            .map(|r| r.raw().to_string().len())
            .sum::<usize>();
    }
    let growth = PEAK.load(Ordering::Relaxed) - baseline;
    assert_eq!(items, 40_000);
    assert_eq!(server.count(), 400);
    assert!(
        bytes_seen > 8_000_000,
        "the test reads real volume: {bytes_seen}"
    );
    // One page is ~25 KB of JSON (~0.2 MB parsed); the whole run is > 8 MB. Holding more than
    // a few pages at once would break this bound.
    assert!(
        growth < 3_000_000,
        "peak heap grew by {growth} bytes over {bytes_seen} bytes read"
    );
}

#[tokio::test]
async fn clamps_page_size_follows_cursors_and_stops_at_max_items() {
    let server = profile_server(10, 20).await;
    let client = server.client().build().unwrap();
    let pager = client
        .profiles()
        .list(ListParams {
            page_size: Some(5_000),
            max_items: Some(45),
            ..Default::default()
        })
        .unwrap();
    let items: Vec<_> = pager.items().try_collect().await.unwrap();
    assert_eq!(items.len(), 45);
    assert_eq!(items[44].id(), Some("P2-4"));
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(
        requests[0].query["page[size]"], "100",
        "clamped to get_profiles' maximum"
    );
    assert!(!requests[0].query.contains_key("page[cursor]"));
    assert_eq!(requests[1].query["page[cursor]"], "c1");
    assert_eq!(requests[2].query["page[cursor]"], "c2");
}

#[tokio::test]
async fn max_pages_stops_and_the_cursor_resumes_where_it_left_off() {
    let server = profile_server(6, 20).await;
    let client = server.client().build().unwrap();
    let mut pager = client
        .profiles()
        .list(ListParams {
            max_pages: Some(2),
            filter: Some("equals(email,\"a b@c.com\")".into()),
            ..Default::default()
        })
        .unwrap();
    let mut seen = 0;
    while let Some(page) = pager.next_page().await.unwrap() {
        seen += page.data.len();
    }
    assert_eq!(seen, 40);
    let resume_at = pager.cursor().unwrap().to_string();
    assert_eq!(resume_at, "c2");
    assert_eq!(
        server.requests()[0].query["filter"],
        "equals(email,\"a b@c.com\")"
    );
    let rest: Vec<_> = client
        .profiles()
        .list(ListParams {
            cursor: Some(resume_at),
            ..Default::default()
        })
        .unwrap()
        .items()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rest.len(), 80);
    assert_eq!(rest[0].id(), Some("P2-0"));
}

#[tokio::test]
async fn raw_pages_carry_the_json_and_are_cut_to_max_items() {
    let server = profile_server(3, 20).await;
    let client = server.client().build().unwrap();
    let mut pager = client
        .profiles()
        .list(ListParams {
            max_items: Some(30),
            ..Default::default()
        })
        .unwrap();
    let first = pager.next_page_raw().await.unwrap().unwrap();
    assert_eq!(
        (first.item_count, first.next_cursor.as_deref()),
        (20, Some("c1"))
    );
    let second = pager.next_page_raw().await.unwrap().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&second.body).unwrap();
    assert_eq!(
        (second.item_count, doc["data"].as_array().unwrap().len()),
        (10, 10)
    );
    assert!(pager.next_page_raw().await.unwrap().is_none());
    assert!(client.request("get_profiles", &[], &[], None).await.is_ok());
    assert!(
        client
            .profiles()
            .list(ListParams {
                cursor: Some("https://x/api/profiles".into()),
                ..Default::default()
            })
            .is_err(),
        "a link without a cursor is rejected up front"
    );
}

#[test]
fn blocking_iterator_walks_pages_without_an_async_caller() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(profile_server(3, 20));
    let client = klaviyo_bridge::blocking::Client::new(server.client().build().unwrap());
    let pager = client
        .inner()
        .profiles()
        .list(ListParams::default())
        .unwrap();
    let ids: Vec<String> = client
        .iter(pager)
        .map(|r| r.unwrap().id().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 60);
    assert_eq!(ids.last().map(String::as_str), Some("P2-19"));
}

#[tokio::test]
async fn a_page_with_an_unusable_next_link_is_yielded_before_the_error() {
    // Prism's example answers links.next with a URL that has no cursor.
    let server = serve(|_, _| Reply::json(200, json!({"data": [{"type": "profile", "id": "P1", "attributes": {"email": "a@example.com"}}], "links": {"self": "x", "next": "http://example.com"}}))).await;
    let client = server.client().rate_limit(false).build().unwrap();
    let mut pager = client.profiles().list(ListParams::default()).unwrap();
    let page = pager.next_page().await.unwrap().unwrap();
    assert_eq!(
        page.data[0].id(),
        Some("P1"),
        "the page received is not lost"
    );
    let err = pager.next_page().await.unwrap_err();
    assert_eq!(err.code(), "decode_error");
    assert!(
        err.to_string().contains("http://example.com"),
        "the error names the link: {err}"
    );
    assert!(
        pager.next_page().await.unwrap().is_none(),
        "then the walk is over"
    );
    let items: Vec<Result<_, _>> = futures_util::StreamExt::collect::<Vec<_>>(
        client
            .profiles()
            .list(ListParams::default())
            .unwrap()
            .items(),
    )
    .await;
    assert!(
        items[0].is_ok() && items[1].is_err(),
        "items too: the item first, then the error"
    );
}

#[tokio::test]
async fn a_page_carries_its_data_and_included_resources_whole() {
    let server = serve(|_, _| {
        Reply::json(200, json!({
            "data": [{"type": "event", "id": "E1", "attributes": {"datetime": "2026-01-01T00:00:00Z"}, "relationships": {"metric": {"data": {"type": "metric", "id": "M1"}}}}],
            "included": [{"type": "metric", "id": "M1", "attributes": {"name": "Placed Order"}}],
            "links": {"self": "x", "next": null}
        }))
    })
    .await;
    let client = server.client().rate_limit(false).build().unwrap();
    let mut pager = client
        .events()
        .list(ListParams {
            include: vec!["metric".into()],
            ..Default::default()
        })
        .unwrap();
    let page = pager.next_page().await.unwrap().unwrap();
    assert_eq!(page.data.len(), 1);
    assert_eq!(page.data[0].id(), Some("E1"));
    assert_eq!(
        page.data[0].raw()["relationships"]["metric"]["data"]["id"],
        "M1"
    );
    assert_eq!(page.included.len(), 1);
    assert_eq!(page.included[0].kind(), Some("metric"));
    assert_eq!(page.included[0].raw()["attributes"]["name"], "Placed Order");
    assert_eq!(page.next_cursor, None);
    assert!(pager.next_page().await.unwrap().is_none());
}
