"""One process of a fleet tracking events through the shared tracker queue: tracks COUNT events
(unique ids TAG-0…), prints {"tracked": COUNT}, keeps delivering from the stream until its stdin
closes, then closes its tracker and prints its final stats. Used by
tests/node/tracker_queue.test.js. Env: URL, KEY, QUEUE, TAG, COUNT, CLAIM_AFTER (seconds),
STORE (rate-limit store, optional), RATE (events per second, optional)."""

import json
import os
import sys
import time

from klaviyo_bridge import Client

env = os.environ
client = Client(env["KEY"], base_url=env["URL"], rate_limit_store=env.get("STORE") or None)
tracker = client.tracker(queue=env["QUEUE"], claim_after=float(env["CLAIM_AFTER"]))
tag, count, rate = env["TAG"], int(env["COUNT"]), float(env.get("RATE") or 0)
started = time.monotonic()
for i in range(count):
    tracker.track(metric="Queued", email=f"{tag}-{i % 50}@example.com", unique_id=f"{tag}-{i}")
    if rate:
        # Paced: event i waits for its time (rate per second).
        # One reading of the clock: two could straddle `due` and ask for a negative sleep.
        wait = started + i / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
print(json.dumps({"tracked": count}), flush=True)
sys.stdin.read()
stats = tracker.close(timeout=60)
print(json.dumps({"done": True, **stats}), flush=True)
