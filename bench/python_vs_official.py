"""CPU per call and peak RSS: klaviyo_bridge vs the official klaviyo-api SDK, same sandbox.

Run by `make bench`. Each measurement runs in a fresh process, so peak RSS is per client.
CPU is process CPU time (user + system, all threads) divided by the number of calls.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[1]
KEY = "pk_sandbox_not_a_real_key_0000000000"
EVENTS = int(os.environ.get("BENCH_EVENTS", "2000"))
PAGES = int(os.environ.get("BENCH_PAGES", "200"))

EVENT_BODY = {"data": {"type": "event", "attributes": {
    "properties": {"OrderId": "ORD-123", "value": 99.99},
    "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
    "profile": {"data": {"type": "profile", "attributes": {"email": "bench@example.com"}}}}}}


def measure(kind: str, client_name: str, url: str) -> None:
    """Runs in a child process; prints one JSON line."""
    if client_name == "klaviyo_bridge":
        from klaviyo_bridge import Client

        client = Client(KEY, base_url=url, rate_limit=False)
        if kind == "events":
            def one(i: int) -> None:
                client.events.create(email="bench@example.com", metric="Placed Order", properties={"OrderId": "ORD-123", "value": 99.99})
            n = EVENTS
        else:
            pager = iter(client.profiles.list(page_size=100, max_pages=PAGES).pages())

            def one(i: int) -> None:
                page = next(pager)
                assert len(page) == 100 and page[0]["email"]
            n = PAGES
    else:
        from klaviyo_api import KlaviyoAPI

        api = KlaviyoAPI(KEY, max_delay=0, max_retries=0, test_host=url)
        if kind == "events":
            def one(i: int) -> None:
                api.Events.create_event(EVENT_BODY)
            n = EVENTS
        else:
            state = {"cursor": None}

            def one(i: int) -> None:
                page = api.Profiles.get_profiles(page_size=100, page_cursor=state["cursor"])
                data = page.data if hasattr(page, "data") else page["data"]
                links = page.links if hasattr(page, "links") else page["links"]
                assert len(data) == 100
                next_link = links.next if hasattr(links, "next") else links.get("next")
                # Hand the SDK the bare cursor: its own extraction from the link mis-decodes it.
                state["cursor"] = parse_qs(urlparse(next_link).query).get("page[cursor]", [None])[0] if next_link else None
            n = PAGES
    one(0)  # warm up: connection, imports
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(1, n):
        one(i)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    # VmHWM, not ru_maxrss: ru_maxrss keeps the parent's high-water mark across fork/exec.
    rss_mb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024
    print(json.dumps({"cpu_ms": cpu * 1000 / (n - 1), "wall_ms": wall * 1000 / (n - 1), "rss_mb": rss_mb}))


def seed_profiles(url: str, count: int) -> None:
    batch = [{"type": "profile", "attributes": {"email": f"user{i:05}@example.com", "first_name": f"User{i}", "properties": {"tier": "gold", "n": i}}} for i in range(count)]
    for start in range(0, count, 10_000):
        body = json.dumps({"data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": batch[start:start + 10_000]}}}}).encode()
        request = urllib.request.Request(f"{url}/api/profile-bulk-import-jobs", data=body, method="POST",
                                         headers={"Authorization": f"Klaviyo-API-Key {KEY}", "revision": "2026-07-15", "Content-Type": "application/vnd.api+json"})
        urllib.request.urlopen(request).read()
    while json.loads(urllib.request.urlopen(f"{url}/__sandbox/state").read())["profiles"] < count:
        time.sleep(0.05)  # waiting for the sandbox's import job, not racing anything


def main() -> None:
    if len(sys.argv) == 4:
        measure(sys.argv[1], sys.argv[2], sys.argv[3])
        return
    sandbox_bin = sys.argv[1]
    server = subprocess.Popen([sandbox_bin, "--port", "0", "--rate-limits", "off"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        seed_profiles(url, 100 * (PAGES + 1))
        results: Dict[str, Dict[str, Dict[str, float]]] = {}
        for kind in ["events", "pages"]:
            for name in ["klaviyo_bridge", "klaviyo_api"]:
                runs: List[Dict[str, float]] = []
                for _ in range(3):
                    out = subprocess.run([sys.executable, __file__, kind, name, url], capture_output=True, text=True)
                    if out.returncode != 0:
                        raise SystemExit(f"{name} {kind} failed:\n{out.stderr[-2000:]}")
                    runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
                runs.sort(key=lambda r: r["cpu_ms"])
                results.setdefault(kind, {})[name] = runs[1]  # the median of three processes
        print(f"\nPython: klaviyo_bridge vs official klaviyo-api, {EVENTS} create_event calls, {PAGES} pages of 100 profiles (median of 3 processes)")
        print(f"{'':26}{'klaviyo_bridge':>16}{'klaviyo-api':>14}{'ratio':>9}")
        for kind, label in [("events", "CPU ms per create_event"), ("pages", "CPU ms per page of 100")]:
            ours, theirs = results[kind]["klaviyo_bridge"], results[kind]["klaviyo_api"]
            print(f"{label:26}{ours['cpu_ms']:>16.3f}{theirs['cpu_ms']:>14.3f}{ours['cpu_ms'] / theirs['cpu_ms']:>9.2f}")
        for kind, label in [("events", "peak RSS MB (events)"), ("pages", "peak RSS MB (pages)")]:
            ours, theirs = results[kind]["klaviyo_bridge"], results[kind]["klaviyo_api"]
            print(f"{label:26}{ours['rss_mb']:>16.1f}{theirs['rss_mb']:>14.1f}{ours['rss_mb'] / theirs['rss_mb']:>9.2f}")
        print(f"{'wall ms per create_event':26}{results['events']['klaviyo_bridge']['wall_ms']:>16.3f}{results['events']['klaviyo_api']['wall_ms']:>14.3f}")
    finally:
        server.kill()


if __name__ == "__main__":
    main()
