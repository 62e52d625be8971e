"""One process of a fleet sharing (or not) an account's rate-limit budget: calls events.create as
fast as it can for SECONDS, then prints its counts as one JSON line. Used by
tests/node/shared_budget.test.js and bench/shared_budget.js. Env: URL, KEY, STORE ('' = memory), SECONDS."""

import json
import os
import time

from klaviyo_bridge import Client, RateLimitError

client = Client(os.environ["KEY"], base_url=os.environ["URL"], max_retries=0, rate_limit_store=os.environ["STORE"] or None)
ok = throttled = throttled_later = 0
start = time.monotonic()
end = start + float(os.environ["SECONDS"])
while time.monotonic() < end:
    try:
        client.events.create(email="budget@example.com", metric="Budget")
        ok += 1
    except RateLimitError as e:
        # A 429 from the server; the client's own "wait too long" would be a bug here.
        if e.errors and e.errors[0].get("code") == "client_rate_limited":
            raise
        throttled += 1
        if time.monotonic() - start > 1:
            throttled_later += 1
print(json.dumps({"ok": ok, "throttled": throttled, "throttledLater": throttled_later}))
