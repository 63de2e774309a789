# Schemagate's two commands: `make run` and `make test`. Both install what is missing (wasm
# target, wasm-bindgen CLI, Chromium, npm packages, Prisma's schema engine) and rebuild only
# what changed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

export LEPTOS_OUTPUT_NAME := schemagate
export LEPTOS_SITE_ROOT := target/site
export LEPTOS_SITE_PKG_DIR := pkg
export CARGO_TERM_COLOR ?= never

WASM_BINDGEN_VERSION := 0.2.130
WASM := target/wasm32-unknown-unknown/wasm-release/app.wasm
SITE := target/site
BIN := target/debug/schemagate
RUST_SOURCES := $(shell find app/src server/src migrations -type f) Cargo.toml Cargo.lock app/Cargo.toml server/Cargo.toml
TEST_DB := target/test-db

.PHONY: run test site server tools wasm-target wasm-bindgen chromium e2e-deps engine-deps postgres unit-tests oracle e2e

# With no configuration, `make run` serves the demo platform shipped in server/demo.
SCHEMAGATE_PACKAGES ?= server/demo/packages
SCHEMAGATE_BASE_SCHEMA ?= server/demo/base.prisma

## run: build everything and start the server with the embedded PostgreSQL default
run: site server engine-deps
	@echo "Starting Schemagate (embedded PostgreSQL in $${SCHEMAGATE_DATA_DIR:-.schemagate})"
	SCHEMAGATE_PACKAGES=$(SCHEMAGATE_PACKAGES) SCHEMAGATE_BASE_SCHEMA=$(SCHEMAGATE_BASE_SCHEMA) $(BIN) serve

## test: every test: Rust unit and database tests, Prisma's parser, the browser
test: site server engine-deps e2e-deps postgres
	rm -rf $(TEST_DB) target/prisma-oracle target/e2e-packages target/test-dirs
	mkdir -p target/e2e-packages
	$(BIN) --data-dir $(TEST_DB) db run -- $(MAKE) --no-print-directory unit-tests oracle e2e

unit-tests:
	cargo test --workspace --no-fail-fast

oracle:
	node end2end/oracle/validate.cjs target/prisma-oracle target/prisma-oracle/generated

e2e:
	cd end2end && npx playwright test

server: $(BIN)
# No `touch` after cargo: a source edited during a build must leave the output older than it.
$(BIN): $(RUST_SOURCES)
	cargo build -p server

site: $(SITE)/pkg/schemagate.wasm $(SITE)/pkg/schemagate.css $(SITE)/favicon.svg

$(SITE)/pkg/schemagate.wasm: $(WASM) | wasm-bindgen
	wasm-bindgen --target web --no-typescript --out-name schemagate --out-dir $(SITE)/pkg $(WASM)
	mv $(SITE)/pkg/schemagate_bg.wasm $(SITE)/pkg/schemagate.wasm

# rustup's wasm target when it can be had; otherwise Debian's browser-oriented Rust, which
# rebuilds std for the target (see the README's notes on the toolchain).
WASM_FLAGS := -p app --lib --target wasm32-unknown-unknown --no-default-features --features hydrate \
	--profile wasm-release
$(WASM): $(RUST_SOURCES) | wasm-target
	if [ -f target/.wasm-toolchain-debian ]; then \
		RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
		CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/bin/wasm-ld-19 \
		/usr/bin/cargo build $(WASM_FLAGS) -Zbuild-std=std,panic_abort; \
	else cargo build $(WASM_FLAGS); fi

$(SITE)/pkg/schemagate.css: style/main.css
	mkdir -p $(dir $@) && cp $< $@

$(SITE)/favicon.svg: $(wildcard public/*)
	mkdir -p $(SITE) && cp -r public/. $(SITE)/

## tools the build needs; each step only acts when something is missing
wasm-target:
	@mkdir -p target
	@rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
		|| rustup target add wasm32-unknown-unknown \
		|| [ -f target/.wasm-toolchain-debian ] \
		|| { apt-get update && apt-get install -y rustc-web cargo-web rust-web-src lld-19 \
			&& touch target/.wasm-toolchain-debian; }

wasm-bindgen:
	@[ "$$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $(WASM_BINDGEN_VERSION)" ] \
		|| cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)

chromium:
	@command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }

postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null \
		|| { apt-get update && apt-get install -y postgresql; }

# Prisma's schema engine (WASM) and the Node program around it, see server/prisma-engine/README.md
engine-deps: server/prisma-engine/node_modules/.package-lock.json

server/prisma-engine/node_modules/.package-lock.json: server/prisma-engine/package-lock.json
	cd server/prisma-engine && npm ci --no-audit --no-fund

e2e-deps: chromium end2end/node_modules/.package-lock.json end2end/oracle/node_modules/.package-lock.json

end2end/node_modules/.package-lock.json: end2end/package-lock.json
	cd end2end && npm ci --no-audit --no-fund

end2end/oracle/node_modules/.package-lock.json: end2end/oracle/package-lock.json
	cd end2end/oracle && npm ci --no-audit --no-fund
