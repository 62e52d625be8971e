//! Deterministic bulk data for load tests and benchmarks (`--seed-profiles`, `--seed-events`):
//! the same counts give the same records, ids and times on every run.

use serde_json::json;

use crate::Store;

/// The metrics seeded events are spread over.
pub const SEED_METRICS: [&str; 5] = ["Placed Order", "Viewed Product", "Opened Email", "Clicked Email", "Active on Site"];

/// Seeded events fall in the 365 days before this instant (2026-01-01T00:00:00Z).
pub const SEED_EVENTS_END: u64 = 1_767_225_600;

/// splitmix64: a well-mixed, reproducible number for each index.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Adds `profiles` profiles (`seed{i}@example.com`) and `events` events spread over them
/// (at least one profile is made when events are asked for), the five metrics and a year.
pub fn seed(store: &mut Store, profiles: usize, events: usize) {
    let profile_count = if events > 0 { profiles.max(1) } else { profiles };
    let mut profile_ids = Vec::with_capacity(profile_count);
    for i in 0..profile_count {
        let attributes = json!({"email": format!("seed{i}@example.com"), "first_name": format!("Seed{i}"), "properties": {"seed_index": i}});
        profile_ids.push(store.insert_profile(&attributes));
    }
    for i in 0..events as u64 {
        let r = mix(i);
        let metric = SEED_METRICS[(r % SEED_METRICS.len() as u64) as usize];
        let at = SEED_EVENTS_END - 1 - (r >> 8) % (365 * 86_400);
        let time = klaviyo_bridge::time::format_iso8601(std::time::UNIX_EPOCH + std::time::Duration::from_secs(at));
        let profile = &profile_ids[(mix(i ^ 0xABCD) % profile_count as u64) as usize];
        let mut attributes = json!({"time": time, "unique_id": format!("seed-{i}"), "properties": {"seed_index": i}});
        if metric == "Placed Order" {
            attributes["value"] = json!(((r >> 40) % 20_000) as f64 / 100.0);
        }
        store.record_event(profile, metric, &attributes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeding_is_deterministic_and_counts_hold() {
        let (mut a, mut b) = (Store::default(), Store::default());
        seed(&mut a, 10, 500);
        seed(&mut b, 10, 500);
        assert_eq!((a.profiles.len(), a.events.len(), a.metrics.len()), (10, 500, 5));
        let times = |s: &Store| s.events.values().map(|e| e["attributes"]["datetime"].clone()).collect::<Vec<_>>();
        assert_eq!(times(&a), times(&b));
        let mut only_events = Store::default();
        seed(&mut only_events, 0, 3);
        assert_eq!((only_events.profiles.len(), only_events.events.len()), (1, 3));
    }
}
