"""Catalog feed sync, measured through `klaviyo-dev-tools --tool sync-catalog` (optimized
build) against local sandboxes:

1. plan time and the client's peak RSS for a 100,000-item Google Merchant feed against a
   100,000-item catalog (sandbox limits off; the client still paces each read operation to its
   350/s burst, which is most of the plan's time);
2. apply throughput for 10,000 changed items against a sandbox enforcing Klaviyo's real rate
   limits, as a share of the 1,250 items/s steady ceiling (750 bulk jobs/min x 100 items).

Usage: catalog_sync.py SANDBOX_BINARY DEV_TOOLS_BINARY
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

KEY = "pk_sandbox_not_a_real_key_0000000000"


def feed(path: Path, items: int, price_bump: int = 0) -> None:
    """`items` items: four in five standalone, one in five as a group of two variants."""
    groups = items // 5
    with path.open("w") as out:
        out.write('<?xml version="1.0"?>\n<rss xmlns:g="http://base.google.com/ns/1.0" version="2.0"><channel>\n')
        for i in range(items - groups):
            price = 10 + i % 50 + (1 if i < price_bump else 0)
            out.write(f"<item><g:id>SKU-{i}</g:id><title>Product {i}</title><description>Description of product {i}</description>"
                      f"<link>https://shop.example/p/{i}</link><g:image_link>https://shop.example/i/{i}.jpg</g:image_link>"
                      f"<g:price>{price}.00 USD</g:price><g:product_type>Category {i % 10}</g:product_type></item>\n")
        for g in range(groups):
            for size in ("S", "M"):
                out.write(f"<item><g:id>P{g}-{size}</g:id><g:item_group_id>P{g}</g:item_group_id><title>Shirt {g} {size}</title>"
                          f"<description>A shirt</description><link>https://shop.example/s/{g}</link><g:price>30.00 USD</g:price>"
                          f"<g:quantity>5</g:quantity><g:product_type>Category {g % 10}</g:product_type></item>\n")
        out.write("</channel></rss>\n")


def sandbox(binary: str, *args: str) -> Tuple[subprocess.Popen, str]:
    process = subprocess.Popen([binary, "--port", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def main(sandbox_binary: str, tools: str) -> None:
    rows: List[Tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "feed.xml"
        feed(path, 100_000)
        size_mb = path.stat().st_size / 1e6

        process, url = sandbox(sandbox_binary, "--rate-limits", "off")
        try:
            report, load_s, _ = run(tools, url, path)
            assert report["created"] == 100_000 + 40_000 + 10, report
            rows.append(("initial load: 100,000 items + 40,000 variants, 1,410 jobs (client pacing: 750 jobs/min)", f"{load_s:.1f} s, {140_000 / load_s:,.0f} resources/s = {140_000 / load_s / 1250:.0%} of the 1,250 items/s steady ceiling"))
            plans = []
            for _ in range(3):
                report, plan_s, rss = run(tools, url, path, "--dry-run")
                assert report["plan"]["items"]["unchanged"] == 100_000, report
                plans.append((plan_s, rss))
            plan_s, rss = sorted(plans)[1]
            reads = report["reads"]
            rows.append((f"plan: {size_mb:.0f} MB feed of 100,000 items vs 100,000-item catalog (median of 3)", f"{plan_s:.2f} s"))
            rows.append(("plan: pages read (350/s per read operation, the client's pacing)", f"{reads:,}"))
            rows.append(("plan: client peak RSS", f"{rss / 1024:.0f} MiB"))
        finally:
            process.kill()
            process.wait()

        small = Path(tmp) / "small.xml"
        changed = Path(tmp) / "changed.xml"
        feed(small, 12_500)
        feed(changed, 12_500, price_bump=10_000)
        process, url = sandbox(sandbox_binary)
        try:
            run(tools, url, small)
            # Bulk updates have their own rate-limit bucket, which the creates above left full.
            _, plan_s, _ = run(tools, url, changed, "--dry-run")
            report, total_s, _ = run(tools, url, changed)
            assert report["updated"] == 10_000, report
            apply_s = total_s - plan_s
            rate = 10_000 / apply_s
            rows.append(("apply: 10,000 changed items, real rate limits (run minus its plan)", f"{apply_s:.2f} s ({total_s:.2f} s with the plan), {rate:,.0f} items/s = {rate / 1250:.0%} of the 1,250 items/s steady ceiling, {report['jobs']} jobs"))
        finally:
            process.kill()
            process.wait()

    width = max(len(r[0]) for r in rows)
    print("Catalog feed sync (klaviyo-dev-tools --tool sync-catalog, bench-fast build)")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def run(tools: str, url: str, path: Path, *extra: str) -> Tuple[Dict[str, Any], float, int]:
    env = {**os.environ, "KLAVIYO_API_KEY": KEY, "KLAVIYO_BASE_URL": url}
    started = time.perf_counter()
    process = subprocess.Popen([tools, "--tool", "sync-catalog", "--feed", str(path), "--format", "json", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert process.stdout is not None and process.stderr is not None
    out = process.stdout.read()
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        sys.exit(f"sync failed ({status}): {err.decode()}")
    return json.loads(out), elapsed, usage.ru_maxrss


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
