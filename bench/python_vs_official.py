"""CPU per call, peak RSS and concurrent throughput: klaviyo_bridge vs the official
klaviyo-api SDK, against the same sandbox, with the bare-Rust floor beside them.

Run by `make bench`: `python_vs_official.py SANDBOX_BIN [FLOOR_BIN]`. Each measurement runs in
a fresh process (median of 3), so peak RSS is per client. CPU is process CPU time (user +
system, all threads) divided by the number of calls. FLOOR_BIN (core/examples/overhead_floor)
measures bare reqwest and the Rust core against the same server.

The concurrency phase sends CONCURRENT_EVENTS create_event calls with 64 in flight to a
sandbox that answers after 20 ms: AsyncClient with asyncio.gather, Client on 8 and on 64
threads, and the official SDK (synchronous) on 8 and on 64 threads, its best way; then
AsyncClient with 512 in flight, past the latency's ceiling, for what the client can carry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[1]
KEY = "pk_sandbox_not_a_real_key_0000000000"
EVENTS = int(os.environ.get("BENCH_EVENTS", "2000"))
PAGES = int(os.environ.get("BENCH_PAGES", "200"))
CONCURRENT_EVENTS = int(os.environ.get("BENCH_CONCURRENT_EVENTS", "2000"))
IN_FLIGHT = 64
# Beyond the latency's ceiling (64 / 20 ms = 3,200 calls/s): how many calls/s the client itself can carry.
CAPACITY_IN_FLIGHT, CAPACITY_EVENTS = 512, 8192
LATENCY_MS = 20

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
    elif client_name == "http.client":
        # The host's own bare client: one persistent connection, bytes in, json.loads out.
        import http.client

        parsed = urlparse(url)
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port)
        headers = {"Authorization": f"Klaviyo-API-Key {KEY}", "revision": "2026-07-15", "Accept": "application/vnd.api+json"}
        if kind == "events":
            body = json.dumps(EVENT_BODY).encode()
            post_headers = {**headers, "Content-Type": "application/vnd.api+json"}

            def one(i: int) -> None:
                connection.request("POST", "/api/events", body=body, headers=post_headers)
                response = connection.getresponse()
                response.read()
                assert response.status == 202
            n = EVENTS
        else:
            state = {"next": "/api/profiles?page%5Bsize%5D=100"}

            def one(i: int) -> None:
                connection.request("GET", state["next"], headers=headers)
                page = json.loads(connection.getresponse().read())
                assert len(page["data"]) == 100
                state["next"] = urlparse(page["links"]["next"])._replace(scheme="", netloc="").geturl()
            n = PAGES
    else:
        # The same code on the official SDK and on the drop-in: only the import differs.
        if client_name == "klaviyo_api":
            from klaviyo_api import KlaviyoAPI
        else:
            from klaviyo_bridge.compat import KlaviyoAPI  # type: ignore[assignment]

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


def cpu_and_rss() -> Dict[str, float]:
    # VmHWM, not ru_maxrss: ru_maxrss keeps the parent's high-water mark across fork/exec.
    rss_mb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024
    return {"cpu": time.process_time(), "rss_mb": rss_mb}


def measure_concurrent(mode: str, url: str) -> None:
    """Runs in a child process: `client:how:in_flight:calls` create_event calls."""
    client_name, how, in_flight_text, calls_text = mode.split(":")
    n, in_flight = int(calls_text), int(in_flight_text)
    if client_name == "klaviyo_bridge" and how == "async":
        import asyncio

        from klaviyo_bridge import AsyncClient

        async def run() -> float:
            client = AsyncClient(KEY, base_url=url, rate_limit=False)
            one = lambda: client.events.create(email="bench@example.com", metric="Placed Order", properties={"OrderId": "ORD-123", "value": 99.99})
            await asyncio.gather(*(one() for _ in range(in_flight)))  # warm up: connections
            remaining = iter(range(n))

            async def worker() -> None:
                for _ in remaining:
                    await one()

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(in_flight)))
            return start

        cpu0 = time.process_time()
        start = asyncio.run(run())
        wall = time.perf_counter() - start
    else:
        from concurrent.futures import ThreadPoolExecutor

        threads = int(how.removeprefix("threads"))
        if client_name == "klaviyo_bridge":
            from klaviyo_bridge import Client

            client = Client(KEY, base_url=url, rate_limit=False)

            def one(_: int) -> None:
                client.events.create(email="bench@example.com", metric="Placed Order", properties={"OrderId": "ORD-123", "value": 99.99})
        else:
            import logging

            from klaviyo_api import KlaviyoAPI

            # urllib3 warns for every connection beyond its pool of cpu_count*5: not the SDK's work.
            logging.getLogger("urllib3").setLevel(logging.ERROR)
            api = KlaviyoAPI(KEY, max_delay=0, max_retries=0, test_host=url)

            def one(_: int) -> None:
                api.Events.create_event(EVENT_BODY)
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(threads)))  # warm up: connections, imports
            cpu0, start = time.process_time(), time.perf_counter()
            list(pool.map(one, range(n)))
            wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    print(json.dumps({"calls_per_s": n / wall, "cpu_ms": cpu * 1000 / n, "rss_mb": cpu_and_rss()["rss_mb"]}))


def seed_profiles(url: str, count: int) -> None:
    batch = [{"type": "profile", "attributes": {"email": f"user{i:05}@example.com", "first_name": f"User{i}", "properties": {"tier": "gold", "n": i}}} for i in range(count)]
    for start in range(0, count, 10_000):
        body = json.dumps({"data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": batch[start:start + 10_000]}}}}).encode()
        request = urllib.request.Request(f"{url}/api/profile-bulk-import-jobs", data=body, method="POST",
                                         headers={"Authorization": f"Klaviyo-API-Key {KEY}", "revision": "2026-07-15", "Content-Type": "application/vnd.api+json"})
        urllib.request.urlopen(request).read()
    while json.loads(urllib.request.urlopen(f"{url}/__sandbox/state").read())["profiles"] < count:
        time.sleep(0.05)  # waiting for the sandbox's import job, not racing anything


def median_run(argv: List[str], key: str, what: str) -> Dict[str, float]:
    """The median (by `key`) of three fresh processes, each printing one JSON line."""
    runs: List[Dict[str, float]] = []
    for _ in range(3):
        out = subprocess.run(argv, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"{what} failed:\n{out.stderr[-2000:]}")
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    runs.sort(key=lambda r: r[key])
    return runs[1]


def start_sandbox(sandbox_bin: str, *options: str) -> "tuple[subprocess.Popen[str], str]":
    server = subprocess.Popen([sandbox_bin, "--port", "0", "--rate-limits", "off", *options], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def per_call_phase(sandbox_bin: str, floor_bin: Optional[str]) -> None:
    server, url = start_sandbox(sandbox_bin)
    try:
        seed_profiles(url, 100 * (PAGES + 1))
        results: Dict[str, Dict[str, Dict[str, float]]] = {}
        for kind in ["events", "pages"]:
            for name in ["klaviyo_bridge", "klaviyo_api", "http.client", "compat"]:
                results.setdefault(kind, {})[name] = median_run([sys.executable, __file__, kind, name, url], "cpu_ms", f"{name} {kind}")
        floor = None
        if floor_bin:
            out = Path(tempfile.mkdtemp()) / "floor.json"
            runs = []
            for _ in range(3):
                subprocess.run([floor_bin, url, str(out)], check=True, capture_output=True)
                runs.append(json.loads(out.read_text()))
            floor = {door: {figure: sorted(r[door][figure] for r in runs)[1] for figure in ["event_ms", "page_ms"]} for door in ["bare", "rust"]}
    finally:
        server.kill()
    print(f"\nPython: klaviyo_bridge vs official klaviyo-api, {EVENTS} create_event calls, {PAGES} pages of 100 profiles (median of 3 processes)")
    print(f"{'':26}{'klaviyo_bridge':>16}{'klaviyo-api':>14}{'ratio':>9}{'http.client':>13}{'ratio':>9}" + (f"{'bare Rust':>11}{'ratio':>9}{'Rust core':>11}" if floor else ""))
    for kind, label, figure in [("events", "CPU ms per create_event", "event_ms"), ("pages", "CPU ms per page of 100", "page_ms")]:
        ours, theirs, host = (results[kind][name]["cpu_ms"] for name in ["klaviyo_bridge", "klaviyo_api", "http.client"])
        line = f"{label:26}{ours:>16.3f}{theirs:>14.3f}{ours / theirs:>9.2f}{host:>13.3f}{ours / host:>9.2f}"
        if floor:
            line += f"{floor['bare'][figure]:>11.3f}{ours / floor['bare'][figure]:>9.2f}{floor['rust'][figure]:>11.3f}"
        print(line)
    for kind, label in [("events", "peak RSS MB (events)"), ("pages", "peak RSS MB (pages)")]:
        ours, theirs = results[kind]["klaviyo_bridge"], results[kind]["klaviyo_api"]
        print(f"{label:26}{ours['rss_mb']:>16.1f}{theirs['rss_mb']:>14.1f}{ours['rss_mb'] / theirs['rss_mb']:>9.2f}")
    print(f"{'wall ms per create_event':26}{results['events']['klaviyo_bridge']['wall_ms']:>16.3f}{results['events']['klaviyo_api']['wall_ms']:>14.3f}")
    print("\nThe drop-in (klaviyo_bridge.compat.KlaviyoAPI): the official SDK's code, one import changed")
    print(f"{'':26}{'compat':>16}{'klaviyo-api':>14}{'ratio':>9}")
    for kind, label in [("events", "CPU ms per create_event"), ("pages", "CPU ms per page of 100")]:
        compat, theirs = results[kind]["compat"]["cpu_ms"], results[kind]["klaviyo_api"]["cpu_ms"]
        print(f"{label:26}{compat:>16.3f}{theirs:>14.3f}{compat / theirs:>9.2f}")


CONCURRENT_MODES = [
    (f"klaviyo_bridge:async:{IN_FLIGHT}:{CONCURRENT_EVENTS}", f"klaviyo_bridge AsyncClient, {IN_FLIGHT} in flight"),
    (f"klaviyo_bridge:threads8:8:{CONCURRENT_EVENTS}", "klaviyo_bridge Client, 8 threads"),
    (f"klaviyo_bridge:threads64:64:{CONCURRENT_EVENTS}", "klaviyo_bridge Client, 64 threads"),
    (f"klaviyo_api:threads8:8:{CONCURRENT_EVENTS}", "klaviyo-api, 8 threads"),
    (f"klaviyo_api:threads64:64:{CONCURRENT_EVENTS}", "klaviyo-api, 64 threads"),
    (f"klaviyo_bridge:async:{CAPACITY_IN_FLIGHT}:{CAPACITY_EVENTS}", f"klaviyo_bridge AsyncClient, {CAPACITY_IN_FLIGHT} in flight"),
]


def concurrency_phase(sandbox_bin: str) -> None:
    server, url = start_sandbox(sandbox_bin, "--latency", str(LATENCY_MS))
    try:
        results = {mode: median_run([sys.executable, __file__, "concurrent", mode, url], "calls_per_s", mode) for mode, _ in CONCURRENT_MODES}
    finally:
        server.kill()
    best_official = max(r["calls_per_s"] for mode, r in results.items() if mode.startswith("klaviyo_api"))
    print(f"\nPython, concurrency: create_event calls ({CONCURRENT_EVENTS}; {CAPACITY_EVENTS} at {CAPACITY_IN_FLIGHT} in flight), server answering after {LATENCY_MS} ms"
          f" (median of 3 processes); ratio = calls/s over the official SDK's best ({best_official:.0f}/s). {IN_FLIGHT} in flight cannot exceed {IN_FLIGHT * 1000 // LATENCY_MS}/s.")
    print(f"{'':44}{'calls/s':>10}{'ratio':>9}{'CPU ms/call':>13}{'peak RSS MB':>13}")
    for mode, label in CONCURRENT_MODES:
        r = results[mode]
        print(f"{label:44}{r['calls_per_s']:>10.0f}{r['calls_per_s'] / best_official:>9.2f}{r['cpu_ms']:>13.3f}{r['rss_mb']:>13.1f}")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "concurrent":
        measure_concurrent(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) == 4:
        measure(sys.argv[1], sys.argv[2], sys.argv[3])
        return
    sandbox_bin = sys.argv[1]
    floor_bin = sys.argv[2] if len(sys.argv) > 2 else None
    per_call_phase(sandbox_bin, floor_bin)
    concurrency_phase(sandbox_bin)


if __name__ == "__main__":
    main()
