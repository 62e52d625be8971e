"""Event throughput under Klaviyo's real rate limits: the klaviyo_bridge tracker (bulk jobs)
vs the official klaviyo-api SDK sending events one by one (create_event), both against the
sandbox with `--rate-limits real --latency 200`.

Run by `make bench`. The tracker's figure is events/s from the first track() to the last
accepted job, as a fraction of 2,500/s (150 bulk jobs/min x 1,000 events); delivery is then
checked exactly (events recorded == events tracked) and 429s are counted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List

KEY = "pk_sandbox_not_a_real_key_0000000000"
TRACKED = int(os.environ.get("BENCH_TRACKED_EVENTS", "100000"))
ONE_BY_ONE = int(os.environ.get("BENCH_ONE_BY_ONE_EVENTS", "5000"))
CEILING = 2_500.0


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=600) as r:
        return json.loads(r.read())


def start_sandbox(binary: str) -> "tuple[subprocess.Popen[str], str]":
    process = subprocess.Popen([binary, "--port", "0", "--rate-limits", "real", "--latency", "200"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def too_many(url: str, operation: str) -> List[int]:
    return [i for i, r in enumerate(get(f"{url}/__sandbox/requests")) if r["operation"] == operation and r["status"] == 429]


def tracker_run(url: str) -> Dict[str, Any]:
    from klaviyo_bridge import Client

    tracker = Client(KEY, base_url=url).tracker()
    started = time.perf_counter()
    for i in range(TRACKED):
        tracker.track(metric="Viewed Product", email=f"shopper{i % 5000}@example.com", properties={"sku": f"SKU-{i % 700}", "n": i})
    track_seconds = time.perf_counter() - started
    stats = tracker.close(timeout=600)
    seconds = time.perf_counter() - started
    recorded = get(f"{url}/__sandbox/settled")["events"]
    rss_mb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024
    return {"events": TRACKED, "seconds": seconds, "track_us": track_seconds * 1e6 / TRACKED, "stats": stats, "recorded": recorded, "429s": len(too_many(url, "bulk_create_events")), "rss_mb": rss_mb}


def official_run(url: str) -> Dict[str, Any]:
    from klaviyo_api import KlaviyoAPI

    api = KlaviyoAPI(KEY, max_delay=60, max_retries=10, test_host=url)

    def one(i: int) -> bool:
        body = {"data": {"type": "event", "attributes": {
            "properties": {"sku": f"SKU-{i % 700}", "n": i},
            "metric": {"data": {"type": "metric", "attributes": {"name": "Viewed Product"}}},
            "profile": {"data": {"type": "profile", "attributes": {"email": f"shopper{i % 5000}@example.com"}}}}}}
        try:
            api.Events.create_event(body)
            return True
        except Exception:
            return False

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=50) as pool:
        ok = sum(pool.map(one, range(ONE_BY_ONE)))
    seconds = time.perf_counter() - started
    return {"events": ONE_BY_ONE, "seconds": seconds, "delivered": ok, "recorded": get(f"{url}/__sandbox/settled")["events"], "429s": len(too_many(url, "create_event"))}


def main() -> None:
    binary = sys.argv[1]
    print(f"\n== Event throughput, sandbox with real rate limits and 200 ms latency (ceiling {CEILING:.0f} events/s) ==")
    process, url = start_sandbox(binary)
    try:
        ours = tracker_run(url)
    finally:
        process.kill()
    rate = ours["events"] / ours["seconds"]
    print(f"klaviyo_bridge tracker: {ours['events']} events in {ours['seconds']:.1f} s = {rate:.0f} events/s = {rate / CEILING:.2f} x ceiling "
          f"(target >= 0.95); track() {ours['track_us']:.1f} us/call; recorded {ours['recorded']} (exactly once: {ours['recorded'] == ours['events']}); "
          f"429s {ours['429s']}; retried {ours['stats']['retried']}, failed {ours['stats']['failed']}; peak RSS {ours['rss_mb']:.0f} MB")
    process, url = start_sandbox(binary)
    try:
        theirs = official_run(url)
    finally:
        process.kill()
    their_rate = theirs["delivered"] / theirs["seconds"]
    print(f"klaviyo-api, one by one (50 threads): {theirs['delivered']}/{theirs['events']} events in {theirs['seconds']:.1f} s = {their_rate:.0f} events/s = "
          f"{their_rate / CEILING:.2f} x ceiling; recorded {theirs['recorded']}; 429s {theirs['429s']}")
    print(f"ratio (tracker / official): {rate / their_rate:.1f}x")


if __name__ == "__main__":
    main()
