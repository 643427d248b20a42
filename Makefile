# The two commands a newcomer needs:
#   make demo   runs the main job on the embedded default store (./casebook-data)
#   make test   runs the test suite
# Both install LMDB (Debian's liblmdb-dev) and SQLite (libsqlite3-dev, for GRDB) first if missing.

SWIFT ?= swift
STORE ?= ./casebook-data

.PHONY: demo test build deps bench clean

deps:
	@if ! pkg-config --exists lmdb 2>/dev/null; then \
		echo "installing liblmdb-dev (LMDB) ..."; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq liblmdb-dev pkg-config; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq liblmdb-dev pkg-config; fi; \
	fi
	@if ! pkg-config --exists sqlite3 2>/dev/null; then \
		echo "installing libsqlite3-dev (SQLite, for GRDB and casebook export sqlite) ..."; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq libsqlite3-dev pkg-config; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq libsqlite3-dev pkg-config; fi; \
	fi

build: deps
	$(SWIFT) build -c release

demo: build
	$(SWIFT) run -c release casebook demo --store $(STORE)

test: deps
	$(SWIFT) test

# Log benchmarks beside the raw LMDB probe (see Tools/bench-log.sh).
bench: build
	Tools/bench-log.sh

clean:
	rm -rf .build
