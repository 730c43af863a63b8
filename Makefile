# patd: `make run` and `make test` do everything on a fresh Debian machine.
BUILD      ?= build
TEST_BUILD ?= build-test
PYTHON     ?= python3
ARGS       ?=

.PHONY: all build run test deb checksrc openapi npm screenshots unit valgrind blackbox blackbox-postgres browser bench bench-postgres bench-exchange fuzz clean install deps

all: build

deps:
	@tools/deps.sh build

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) --buildtype=debugoptimized >/dev/null
	@ninja -C $(BUILD) >/dev/null
	@echo "built $(BUILD)/patd and $(BUILD)/pat"

run: build
	./$(BUILD)/patd $(ARGS)

# The test build runs under ASan+UBSan; any report fails the run.
$(TEST_BUILD)/build.ninja:
	meson setup $(TEST_BUILD) --buildtype=debug -Db_sanitize=address,undefined \
	  -Db_lundef=false -Dc_args=-fno-sanitize-recover=all -Dtests=enabled >/dev/null

# A throwaway PostgreSQL (tools/pg.sh) serves the whole run: the store
# conformance suite on PostgreSQL, the black-box suites on a patd on
# PostgreSQL and the multi-instance tests; it is stopped however the run
# ends. PATD_TEST_PG carries its URL to every target below.
test: checksrc
	@tools/deps.sh test
	@$(MAKE) --no-print-directory $(TEST_BUILD)/build.ninja
	@ninja -C $(TEST_BUILD) >/dev/null
	@pgdir=$$(mktemp -d /tmp/patd-test-pg-XXXXXX) && \
	  trap 'tools/pg.sh stop '$$pgdir' >/dev/null; rm -rf '$$pgdir EXIT && \
	  url=$$(tools/pg.sh start $$pgdir) && echo "PostgreSQL for the tests: $$url" && \
	  PATD_TEST_PG=$$url $(MAKE) --no-print-directory unit valgrind blackbox blackbox-postgres \
	    browser openapi

# Banned functions (strcpy, sprintf, atoi, ...) fail the build's tests.
checksrc:
	@tools/checksrc.sh --self-test
	@tools/checksrc.sh src

unit:
	meson test -C $(TEST_BUILD) --print-errorlogs

# The same unit tests without sanitizers, under valgrind (it sees what ASan
# does not, such as overlapping copies inside libc).
valgrind: build
	@tools/deps.sh valgrind
	@meson configure $(BUILD) -Dtests=enabled >/dev/null && ninja -C $(BUILD) >/dev/null
	meson test -C $(BUILD) --timeout-multiplier 4 --wrapper 'valgrind --error-exitcode=9 --leak-check=full -q' \
	  --print-errorlogs

# npm first: the exchange tests verify JWTs with node's jose.
blackbox: npm
	PATD_BIN=$(CURDIR)/$(TEST_BUILD)/patd $(PYTHON) tests/blackbox/run.py

# The suites of tokens, verification, people and the store contract again,
# on a patd whose store is PostgreSQL (test_scaleout.py runs in blackbox:
# it always needs PostgreSQL).
PG_SUITES = test_tokens_api.py test_verify.py test_org.py test_auth.py test_signin_token.py \
  test_cli.py test_store_contract.py test_alerts.py test_rotation.py test_least_privilege.py \
  test_orgs.py
blackbox-postgres:
	PATD_BIN=$(CURDIR)/$(TEST_BUILD)/patd PATD_TEST_BACKEND=postgres $(PYTHON) tests/blackbox/run.py \
	  $(PG_SUITES)

# Not part of make test: wrk against nginx and patd, writes docs/PERFORMANCE.md.
bench:
	$(PYTHON) bench/run.py

# Not part of make test: patd on PostgreSQL (a throwaway server), one and two
# instances, revocation propagation; its own section of docs/PERFORMANCE.md.
bench-postgres:
	$(PYTHON) bench/postgres.py

# Not part of make test: POST /oauth/token and GET /auth with JWTs; its own
# section of docs/PERFORMANCE.md.
bench-exchange:
	$(PYTHON) bench/exchange.py

# The npm packages of the tests (playwright-core, @redocly/cli), from the
# lockfile.
npm:
	@[ -d tests/browser/node_modules/playwright-core ] && \
	  [ -d tests/browser/node_modules/@redocly/cli ] && [ -d tests/browser/node_modules/jose ] || \
	  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

# docs/openapi.yaml through a third-party linter, its warnings as errors.
openapi: npm
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	  tests/browser/node_modules/.bin/redocly lint --extends=recommended-strict docs/openapi.yaml

# The console in Debian's Chromium, driven by playwright-core from npm.
browser: npm
	cd tests/browser && SCREENSHOTS_DIR=$(SCREENSHOTS_DIR) PATD_BIN=$(CURDIR)/$(TEST_BUILD)/patd node --test --test-concurrency=1 console.test.mjs

# Not part of make test: refreshes the console screenshots in docs/img
# (make test writes its own to build-test/screenshots).
screenshots:
	@$(MAKE) --no-print-directory $(TEST_BUILD)/build.ninja
	@ninja -C $(TEST_BUILD) >/dev/null
	@$(MAKE) --no-print-directory browser SCREENSHOTS_DIR=$(CURDIR)/docs/img

# Not part of make test: each libFuzzer target for FUZZ_SECONDS, starting
# from its committed corpus (new finds land in build-fuzz/corpus-*). The
# server targets keep state between inputs (a store, caches), which
# LeakSanitizer would take for a leak after every input and scan the heap
# for: their leaks are looked for by the valgrind replay in make test.
FUZZ_SECONDS ?= 60
fuzz:
	@tools/deps.sh fuzz
	@[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzzing=true \
	  -Dtests=disabled -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	@ninja -C build-fuzz >/dev/null
	@for t in token config text http request bodies; do \
	  mkdir -p build-fuzz/corpus-$$t && cp -n fuzz/corpus/$$t/* build-fuzz/corpus-$$t/ ; \
	  case $$t in request|bodies) leaks=-detect_leaks=0 ;; *) leaks= ;; esac ; \
	  build-fuzz/fuzz_$$t $$leaks -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus-$$t || exit 1; \
	done

install: build
	meson install -C $(BUILD)

# A Debian package of the working tree (tracked and new files), built apart
# in build-deb/ so the tree stays clean: build-deb/patd_VERSION_ARCH.deb.
deb:
	tools/deps.sh deb
	rm -rf build-deb && mkdir -p build-deb/patd
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t build-deb/patd
	cd build-deb/patd && dpkg-buildpackage -us -uc -b >../build.log 2>&1 || { tail -40 ../build.log; exit 1; }
	@ls build-deb/*.deb

clean:
	rm -rf $(BUILD) $(TEST_BUILD) build-bench build-fuzz build-deb
