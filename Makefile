# Schemagate's two commands: `make run` and `make test`. Both install what is missing (wasm
# target, wasm-bindgen CLI, wasm-opt, brotli, Chromium, npm packages, Prisma's schema engine)
# and rebuild only what changed. Leptos' build settings (LEPTOS_OUTPUT_NAME and the site paths)
# live in .cargo/config.toml, so `make` and a plain `cargo build` compile the same way.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

export CARGO_TERM_COLOR ?= never

WASM_BINDGEN_VERSION := 0.2.130
WASM := target/wasm32-unknown-unknown/wasm-release/app.wasm
SITE := target/site
# wasm-bindgen's output before optimizing and hashing; not served.
STAGE := target/site-stage
ASSETS := $(SITE)/pkg/assets.txt
WASM_OPT := end2end/node_modules/.bin/wasm-opt
# The features rustc enables for wasm32 (see the module's target_features section).
WASM_FEATURES := --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
	--enable-mutable-globals --enable-reference-types --enable-multivalue
BIN := target/debug/schemagate
RUST_SOURCES := $(shell find app/src server/src migrations -type f) Cargo.toml Cargo.lock app/Cargo.toml server/Cargo.toml .cargo/config.toml
TEST_DB := target/test-db

.PHONY: run test lint sqlx-prepare site server tools wasm-target wasm-bindgen brotli chromium e2e-deps engine-deps postgres unit-tests oracle e2e page-weight

# With no configuration, `make run` serves the demo platform shipped in server/demo.
SCHEMAGATE_PACKAGES ?= server/demo/packages
SCHEMAGATE_BASE_SCHEMA ?= server/demo/base.prisma

## run: build everything and start the server with the embedded PostgreSQL default
run: site server engine-deps
	@echo "Starting Schemagate (embedded PostgreSQL in $${SCHEMAGATE_DATA_DIR:-.schemagate})"
	SCHEMAGATE_PACKAGES=$(SCHEMAGATE_PACKAGES) SCHEMAGATE_BASE_SCHEMA=$(SCHEMAGATE_BASE_SCHEMA) $(BIN) serve

## test: lint, then every test: Rust unit and database tests, Prisma's parser, the browser.
## The real corpus is found through SCHEMAGATE_CORPUS (default ../shared/corpus/metabuilder);
## without it the corpus tests are listed as not run, except under CI=true, where they fail.
test: lint site server engine-deps e2e-deps postgres
	rm -rf $(TEST_DB) target/prisma-oracle target/e2e-packages target/test-dirs target/corpus-skipped.txt
	mkdir -p target/e2e-packages
	$(BIN) --data-dir $(TEST_DB) db run -- $(MAKE) --no-print-directory unit-tests oracle e2e
	@if [ -s target/corpus-skipped.txt ]; then \
		echo "Corpus tests that did not run (no corpus; set SCHEMAGATE_CORPUS):"; \
		sort -u target/corpus-skipped.txt; fi

## sqlx-prepare: regenerate app/.sqlx (the checked form of sqlx's query macros) against a
## private, freshly migrated registry
sqlx-prepare: server
	rm -rf target/sqlx-prepare-db app/.sqlx && mkdir -p app/.sqlx
	$(BIN) --data-dir target/sqlx-prepare-db db run -- sh -c '\
		SCHEMAGATE_PLATFORM_DATABASE_URL="$$DATABASE_URL" $(BIN) user list >/dev/null && \
		touch app/src/lib.rs && \
		SQLX_OFFLINE=false SQLX_OFFLINE_DIR=$(CURDIR)/app/.sqlx cargo check -p app --features ssr'

## lint: formatting and clippy with warnings denied
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

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

## page-weight: cold and warm page weight and time to interactive under throttling (server running)
page-weight: e2e-deps
	node end2end/measure/page-weight.mjs

# The site: target/site/pkg holds the script, wasm, stylesheet and icon under content-hashed names
# (served as immutable), each with .br and .gz twins; assets.txt tells the server the names.
site: $(ASSETS) $(SITE)/favicon.svg

$(STAGE)/schemagate_bg.wasm: $(WASM) | wasm-bindgen
	rm -rf $(STAGE) && mkdir -p $(STAGE)
	wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
		--out-name schemagate --out-dir $(STAGE) $(WASM)

$(STAGE)/schemagate.wasm: $(STAGE)/schemagate_bg.wasm end2end/node_modules/.package-lock.json
	$(WASM_OPT) $< -Oz $(WASM_FEATURES) --strip-debug --strip-producers -o $@.tmp && mv $@.tmp $@

# One hash names the script and the wasm together: leptos asks for `<stem>.js` and `<stem>.wasm`.
$(ASSETS): $(STAGE)/schemagate.wasm style/main.css public/favicon.svg | brotli
	rm -rf $(SITE)/pkg.new && mkdir -p $(SITE)/pkg.new
	cd $(SITE)/pkg.new \
	&& stem=schemagate.$$(cat $(CURDIR)/$(STAGE)/schemagate.js $(CURDIR)/$(STAGE)/schemagate.wasm | sha256sum | cut -c1-16) \
	&& style=schemagate.$$(sha256sum < $(CURDIR)/style/main.css | cut -c1-16).css \
	&& icon=favicon.$$(sha256sum < $(CURDIR)/public/favicon.svg | cut -c1-16).svg \
	&& cp $(CURDIR)/$(STAGE)/schemagate.js $$stem.js && cp $(CURDIR)/$(STAGE)/schemagate.wasm $$stem.wasm \
	&& cp $(CURDIR)/style/main.css $$style && cp $(CURDIR)/public/favicon.svg $$icon \
	&& for file in *; do brotli --best --keep --force $$file && gzip --best --keep --force --no-name $$file; done \
	&& printf 'script %s\nstyle %s\nicon %s\n' $$stem $$style $$icon > assets.txt
	rm -rf $(SITE)/pkg && mv $(SITE)/pkg.new $(SITE)/pkg
	@ls -l $(SITE)/pkg

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

brotli:
	@command -v brotli >/dev/null || { apt-get update && apt-get install -y brotli; }

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
