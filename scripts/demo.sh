#!/usr/bin/env bash
# make demo: the reference scripts' command lines through every door (the Rust binaries, the
# Python console scripts, the npm bins) against klaviyo-sandbox on a free loopback port.
# No Klaviyo account is needed. Against real Klaviyo, set KLAVIYO_API_KEY and drop
# KLAVIYO_BASE_URL: the commands are the same.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}/${CARGO_BUILD_TARGET:-}/debug"
[ -x "$target/klaviyo-sandbox" ] || target="${CARGO_TARGET_DIR:-target}/debug"

work="$(mktemp -d)"
"$target/klaviyo-sandbox" --port 0 --rate-limits real > "$work/sandbox.out" 2> /dev/null &
sandbox=$!
# A second, ready-made account (--seed-data demo) for the warehouse sync at the end.
"$target/klaviyo-sandbox" --port 0 --rate-limits real --seed-data demo > "$work/seeded.out" 2> /dev/null &
seeded=$!
trap 'kill $sandbox $seeded 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/sandbox.out" ] && break; sleep 0.05; done
export KLAVIYO_BASE_URL="$(head -n 1 "$work/sandbox.out")"
export KLAVIYO_API_KEY=pk_sandbox_not_a_real_key_0000000000
echo "klaviyo-sandbox at $KLAVIYO_BASE_URL"

rust_client="$target/klaviyo-client";        rust_dev="$target/klaviyo-dev-tools"
py_client=".venv/bin/klaviyo-client";         py_dev=".venv/bin/klaviyo-dev-tools"
node_client="node bindings-node/bin/klaviyo-client.js"; node_dev="node bindings-node/bin/klaviyo-dev-tools.js"

show() { printf '\n\033[1m[%s] $ %s\033[0m\n' "$1" "$2"; }
run() { local door=$1; shift; show "$door" "$*"; "$@"; }

# Seed a small catalog so catalog-items has something to show.
for sku in MUG-1:Blue\ Mug:12.5 TEA-2:Green\ Tea:8 POT-3:Teapot:39; do
  IFS=: read -r id title price <<< "$sku"
  curl -s -o /dev/null -X POST "$KLAVIYO_BASE_URL/api/catalog-items" -H "Authorization: Klaviyo-API-Key $KLAVIYO_API_KEY" \
    -H "revision: 2026-07-15" -H "Content-Type: application/vnd.api+json" \
    -d "{\"data\":{\"type\":\"catalog-item\",\"attributes\":{\"external_id\":\"$id\",\"title\":\"$title\",\"price\":$price,\"url\":\"https://example.com/$id\"}}}"
done

run rust   $rust_client --action track-event --email user@example.com --event "Placed Order" --properties '{"value": 99.99, "OrderId": "ORD-123"}'
run python $py_client --action upsert-profile --email user@example.com --properties '{"first_name": "Jane", "loyalty_tier": "Gold"}'
run node   $node_client --action catalog-items --format table
run python .venv/bin/python scripts/klaviyo_client.py --action track-event --email user@example.com --event "Started Checkout" --properties '{"value": 42}'
run rust   $rust_dev --tool import-csv --file examples/contacts.csv
run node   $node_client --action export-profiles --max-pages 10 --format csv --output "$work/profiles.csv"
show shell "cat profiles.csv"; cat "$work/profiles.csv"
run python $py_dev --tool health-check
run node   $node_dev --tool validate-events --events "Placed Order,Started Checkout,Viewed Product" || echo "(exit $?: Viewed Product has no events yet, as the tool reports)"
run rust   $rust_dev --tool export-data --resource profiles --max-records 5000 --output "$work/export.jsonl" --format jsonl
show shell "head -n 2 export.jsonl"; head -n 2 "$work/export.jsonl"
printf '\nSame flags, same output, from every door. State of the sandbox:\n'
curl -s "$KLAVIYO_BASE_URL/__sandbox/state" | head -c 400; echo

# The warehouse sync: the ready-made account to Parquet, stream by stream, at its rate limits.
for _ in $(seq 100); do [ -s "$work/seeded.out" ] && break; sleep 0.05; done
seeded_url="$(head -n 1 "$work/seeded.out")"
run rust env KLAVIYO_BASE_URL="$seeded_url" $rust_dev --tool sync --destination "parquet:$work/warehouse" --state "$work/sync-state.json" --safety-margin 0
show shell "ls warehouse/events"; ls "$work/warehouse/events" | head -n 5
