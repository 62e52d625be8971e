# The two commands users need: `make demo` and `make test`. `make bench` for benchmarks.
SHELL := /bin/bash
# One target dir for every build (cargo, and later maturin and napi, which pass --target).
export CARGO_BUILD_TARGET ?= $(shell rustc -vV | sed -n 's/^host: //p')
export CARGO_TERM_COLOR ?= never

.PHONY: test test-rust lint demo generate clean

test: lint test-rust

test-rust:
	cargo test --workspace --locked

lint:
	cargo clippy --workspace --all-targets --locked -- -D warnings

# Runs the main job (track an event, upsert a profile, list the catalog, export profiles)
# against the embedded sandbox on a free loopback port. No Klaviyo account needed.
demo:
	cargo run --locked --quiet -p klaviyo-sandbox --example demo

# Regenerates core/src/operations/generated.rs from Klaviyo's OpenAPI spec.
generate:
	cargo run --locked -p klaviyo-codegen

clean:
	cargo clean
