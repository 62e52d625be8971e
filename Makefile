# The two commands users need: `make demo` and `make test`. `make bench` runs the benchmarks.
SHELL := /bin/bash
# One target dir for every build: cargo, maturin and napi all honour CARGO_BUILD_TARGET.
export CARGO_BUILD_TARGET ?= $(shell rustc -vV | sed -n 's/^host: //p')
export CARGO_TERM_COLOR ?= never
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: test test-rust test-python test-node test-packages lint build python node demo bench generate clean redis-server
BENCH_VENV := .venv-bench

test: lint test-rust test-python test-node test-packages

# Rust format and clippy; the Python stubs against the built module (mypy.stubtest) and a user's
# script under mypy --strict; a user's TypeScript under tsc --strict. Both samples carry
# expected errors (`# type: ignore[...]`, `// @ts-expect-error`) that fail the check if they
# stop being errors.
lint: python node_modules/.installed
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	$(PY) -m mypy.stubtest klaviyo_bridge --allowlist bindings-python/stubtest-allowlist.txt
	$(VENV)/bin/mypy --strict tests/python/typing_sample.py
	npx tsc --noEmit --strict --module nodenext --moduleResolution nodenext --target es2022 --types node tests/node/typing_sample.ts

test-rust: redis-server
	cargo test --workspace --locked

# The tests of the shared rate-limit budget and the tracker queue start their own redis-server on a free port.
# Debian's package, installed when missing (CI machines run as root; elsewhere, sudo).
redis-server:
	@command -v redis-server > /dev/null || { \
		echo "installing Debian's redis-server (the shared rate-limit budget's tests run a real one)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server > /dev/null || { $$SUDO apt-get update -q > /dev/null && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server > /dev/null; }; \
		$$SUDO service redis-server stop > /dev/null 2>&1 || true; }

# The sandbox and the CLI binaries that the Python and Node suites start. Built as the test
# build builds them (same feature set), so after `make test-rust` this compiles nothing.
build:
	cargo test --workspace --locked --no-run --quiet

$(VENV)/.installed:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet 'maturin>=1.9.4,<2' 'pytest>=8' 'mypy>=1.10' 'flask>=3' 'uvicorn>=0.30' 'klaviyo-api==24.0.0' 'pyarrow>=17' 'polars>=1.0' 'duckdb>=1.1' 'jsonschema>=4.20' 'rfc3339-validator>=0.1.4'
	touch $@

# Builds the extension into the venv (debug build, for tests).
python: $(VENV)/.installed
	$(VENV)/bin/maturin develop --quiet

test-python: build python
	$(PY) -m pytest -q tests/python

# --engine-strict: a dependency that needs a newer Node than the README promises (20) fails here.
node_modules/.installed: package.json
	KLAVIYO_BRIDGE_SKIP_ADDON_BUILD=1 npm install --engine-strict --no-audit --no-fund --loglevel=error
	touch $@

# Builds the addon (debug, for tests) into bindings-node/.
node: node_modules/.installed
	npx napi build --platform --manifest-path bindings-node/Cargo.toml --package-json-path package.json --output-dir bindings-node --js native.js --dts native.d.ts

test-node: build node python redis-server
	node --test tests/node/

# The packages as users get them: the abi3 wheel and the npm tarballs (the package and its
# platform package with the addon; release builds) installed with no Rust on PATH, then called
# (scripts/package_test.sh). Leaves the release addon in
# bindings-node/ (make node puts the debug one back).
test-packages: $(VENV)/.installed node_modules/.installed
	rm -rf target/packages
	$(VENV)/bin/maturin build --release --quiet --out target/packages
	npm run build
	scripts/pack_npm.sh target/packages
	scripts/package_test.sh target/packages

# The main job through the Rust library on the embedded sandbox; then the reference scripts'
# command lines through every door (Rust binaries, Python console scripts, npm bins) against
# sandboxes on free loopback ports, ending with the warehouse sync of a seeded account to
# Parquet and its per-stream counts. No Klaviyo account needed.
demo: build python node
	cargo run --locked --quiet -p klaviyo-sandbox --example demo
	scripts/demo.sh

$(BENCH_VENV)/.installed:
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet 'maturin>=1.9.4,<2' klaviyo-api
	touch $@

# Benchmarks against the official SDKs on the same local sandbox (optimized builds, no LTO).
# The per-call and concurrency phases run against the optimized sandbox: a slow server
# lengthens every wait, and each wake-up after a long wait costs the client more CPU.
bench: build $(BENCH_VENV)/.installed
	cargo build --locked --quiet --profile bench-fast -p klaviyo-sandbox --examples
	cargo build --locked --quiet --profile bench-fast -p klaviyo-sandbox -p klaviyo-cli --bins
	cargo build --locked --quiet --profile bench-fast -p klaviyo-bridge --example overhead_floor --example shared_budget_overhead --example shared_budget_fleet --example tracker_queue --example warehouse_sync
	rm -rf target/bench-wheels
	$(BENCH_VENV)/bin/maturin build --quiet --profile bench-fast --out target/bench-wheels
	$(BENCH_VENV)/bin/pip install --quiet --force-reinstall --no-deps target/bench-wheels/klaviyo_bridge-*.whl
	$(BENCH_VENV)/bin/python bench/python_vs_official.py target/$(CARGO_BUILD_TARGET)/bench-fast/klaviyo-sandbox target/$(CARGO_BUILD_TARGET)/bench-fast/examples/overhead_floor
	$(BENCH_VENV)/bin/python bench/tracker_throughput.py target/$(CARGO_BUILD_TARGET)/debug/klaviyo-sandbox
	npm install --prefix bench --no-audit --no-fund --loglevel=error
	npx napi build --platform --profile bench-fast --manifest-path bindings-node/Cargo.toml --package-json-path package.json --output-dir bindings-node --js native.js --dts native.d.ts
	node bench/node_vs_official.js target/$(CARGO_BUILD_TARGET)/bench-fast/klaviyo-sandbox target/$(CARGO_BUILD_TARGET)/bench-fast/examples/overhead_floor
	bench/import_memory.sh target/$(CARGO_BUILD_TARGET)/debug
	$(MAKE) --no-print-directory redis-server
	target/$(CARGO_BUILD_TARGET)/bench-fast/examples/shared_budget_overhead
	target/$(CARGO_BUILD_TARGET)/bench-fast/examples/shared_budget_fleet target/$(CARGO_BUILD_TARGET)/bench-fast/klaviyo-sandbox $(BENCH_VENV)/bin/python node
	target/$(CARGO_BUILD_TARGET)/bench-fast/examples/tracker_queue target/$(CARGO_BUILD_TARGET)/bench-fast/klaviyo-sandbox
	$(BENCH_VENV)/bin/python bench/catalog_sync.py target/$(CARGO_BUILD_TARGET)/bench-fast/klaviyo-sandbox target/$(CARGO_BUILD_TARGET)/bench-fast/klaviyo-dev-tools
	target/$(CARGO_BUILD_TARGET)/bench-fast/examples/warehouse_sync target/$(CARGO_BUILD_TARGET)/bench-fast/klaviyo-sandbox target/$(CARGO_BUILD_TARGET)/bench-fast/klaviyo-dev-tools
	@echo "Sandbox: pages of 1,000 events, plain and filtered+sorted, at 20,000 and 1,000,000 stored events"
	target/$(CARGO_BUILD_TARGET)/bench-fast/examples/page_latency 20000
	target/$(CARGO_BUILD_TARGET)/bench-fast/examples/page_latency 1000000
	@echo "Sandbox: RSS with many profiles; requests per second and RSS over 300,000 requests"
	target/$(CARGO_BUILD_TARGET)/bench-fast/examples/scale profiles 100000
	target/$(CARGO_BUILD_TARGET)/bench-fast/examples/scale profiles 1000000
	target/$(CARGO_BUILD_TARGET)/bench-fast/examples/scale requests 300000
	@echo "(bindings-node now holds an optimized addon; make test rebuilds the debug one)"

# Regenerates everything derived from Klaviyo's OpenAPI spec: the operation table and request
# schemas, the Rust, Python and Node surfaces, the sandbox's shapes, the Rust sweep's calls.
generate:
	cargo run --locked -p klaviyo-codegen

clean:
	cargo clean
	rm -rf $(VENV)
