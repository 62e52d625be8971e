#!/usr/bin/env bash
# Peak memory of `klaviyo-dev-tools --tool import-csv` as the file grows: flat means streaming.
# A 1,000,000-row file is validated (--dry-run); 10,000 and 100,000 rows are imported into the
# sandbox. Usage: bench/import_memory.sh <target dir with klaviyo-sandbox and klaviyo-dev-tools>
set -euo pipefail
bin="$1"
work="$(mktemp -d)"
"$bin/klaviyo-sandbox" --port 0 --rate-limits off > "$work/url" 2> /dev/null &
sandbox=$!
trap 'kill $sandbox 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.05; done
export KLAVIYO_BASE_URL="$(head -n 1 "$work/url")" KLAVIYO_API_KEY=pk_sandbox_not_a_real_key_0000000000
rows() { awk -v n="$1" 'BEGIN { print "email,first_name,city,tier"; for (i = 0; i < n; i++) printf "user%07d@example.com,User %d,Boston,gold\n", i, i }'; }
peak() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -n 1; }
printf '\nimport-csv peak RSS (streaming: should not grow with the file)\n'
for n in 10000 100000; do
  rows "$n" > "$work/$n.csv"
  printf '  import  %9d rows: %6d KB\n' "$n" "$(peak "$bin/klaviyo-dev-tools" --tool import-csv --file "$work/$n.csv" --quiet)"
done
rows 1000000 > "$work/1m.csv"
printf '  dry-run %9d rows: %6d KB  (file %s)\n' 1000000 "$(peak "$bin/klaviyo-dev-tools" --tool import-csv --file "$work/1m.csv" --dry-run --quiet)" "$(du -h "$work/1m.csv" | cut -f1)"
