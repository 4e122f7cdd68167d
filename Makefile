# edgesecrets: build, generate and check. `make help` lists the targets.

GO        ?= go
# The provider version: stamped into the binary and recorded in schema.json and the SDKs.
# Defaults to provider/version's, which is the version of the checked-in schema and SDKs.
VERSION   ?= $(shell sed -n 's/^var Version = "\(.*\)"$$/\1/p' provider/version/version.go)
# Where the pinned Pulumi CLI and YAML language host are built: outside the repository, so that
# every clone on this machine shares one build.
TOOLS_BIN ?= $(HOME)/.cache/edgesecrets/bin
# Python virtual environment that `sdk-build` installs the wheel into (git-ignored).
SDK_VENV  ?= .cache/sdk-venv
PYTHON    ?= python3
# Python virtual environment of the end-to-end tests: PyPI pulumi and the SDK wheel (git-ignored).
E2E_VENV  ?= .cache/e2e-venv

# Every binary we ship is built one way, by `make build` and `make dist` alike: no cgo, no local
# paths, no VCS stamp, no symbol tables. So one commit builds the same bytes on every machine with
# the same Go release, and `make build` warms the build cache `make dist` uses.
BUILD_ENV := CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"
LDFLAGS   := -s -w -X github.com/edgesecrets/pulumi-edgesecrets/provider/version.Version=$(VERSION)
GEN       := bin/edgesecrets-gen
# actionlint, which `make lint-workflows` builds into TOOLS_BIN from the Go module proxy.
ACTIONLINT_VERSION ?= v1.7.12
# golangci-lint, which `make lint` builds into TOOLS_BIN the same way (.golangci.yml configures it).
GOLANGCI_LINT_VERSION ?= v2.15.0

# Recipes find our provider binary and the pinned tools first.
export PATH := $(CURDIR)/bin:$(TOOLS_BIN):$(PATH)

.DEFAULT_GOAL := help
.PHONY: help build tools schema sdk check-generated sdk-build sdk-build-nodejs \
	sdk-build-python sdk-build-go test test-unit bench bench-e2e demo clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "Variables: VERSION=$(VERSION) TOOLS_BIN=$(TOOLS_BIN) GO=$(GO)"

build: ## Build bin/pulumi-resource-edgesecrets, bin/edgesecrets-emulator and bin/edgesecrets-import
	$(BUILD_ENV) $(GO) build -ldflags "$(LDFLAGS)" -o bin/pulumi-resource-edgesecrets .
	$(BUILD_ENV) $(GO) build -ldflags "$(LDFLAGS)" -o bin/edgesecrets-emulator ./cmd/edgesecrets-emulator
	$(BUILD_ENV) $(GO) build -ldflags "$(LDFLAGS)" -o bin/edgesecrets-import ./cmd/edgesecrets-import

.PHONY: dist dist-host
dist: ## Release archives for linux, darwin, windows x amd64, arm64 and dist/checksums.txt (sha256)
	rm -rf dist
	$(BUILD_ENV) GO=$(GO) VERSION=$(VERSION) LDFLAGS="$(LDFLAGS)" scripts/dist.sh

dist-host: ## Only this machine's release archives (provider, emulator, import), into dist/ (what the install test installs)
	$(BUILD_ENV) GO=$(GO) VERSION=$(VERSION) LDFLAGS="$(LDFLAGS)" \
		scripts/dist.sh $$($(GO) env GOOS)/$$($(GO) env GOARCH)

.PHONY: print-version
print-version: ## Print VERSION (the release workflow checks the tag against it)
	@echo $(VERSION)

tools: ## Build the pinned pulumi CLI and pulumi-language-yaml into TOOLS_BIN, then smoke-test them
	GO=$(GO) TOOLS_BIN=$(TOOLS_BIN) scripts/install-tools.sh
	TOOLS_BIN=$(TOOLS_BIN) scripts/yaml-smoke.sh

# Phony on purpose: go build knows best whether the generator or the provider changed.
.PHONY: $(GEN)
$(GEN):
	$(GO) build -o $@ ./cmd/edgesecrets-gen

schema: $(GEN) ## Regenerate schema.json from the provider package
	$(GEN) schema -version $(VERSION) -out schema.json

sdk: schema $(GEN) ## Regenerate schema.json and the SDKs under sdk/ (nodejs, python, go)
	$(GEN) sdk -schema schema.json -out sdk

check-generated: $(GEN) ## Fail if schema.json or sdk/ differ from what the provider generates now
	$(GEN) check -version $(VERSION) -schema schema.json -sdk sdk -fix "make sdk"

sdk-build: sdk-build-nodejs sdk-build-python sdk-build-go ## Build and package all three SDKs

# The npm package is packed from bin/, as Pulumi's own SDKs are, so that the compiled files sit
# at the package's root next to a copy of package.json.
sdk-build-nodejs: ## TypeScript SDK: npm install, tsc into sdk/nodejs/bin, npm pack into sdk/nodejs/dist
	cd sdk/nodejs && npm install --no-package-lock --no-audit --no-fund
	rm -rf sdk/nodejs/bin sdk/nodejs/dist
	cd sdk/nodejs && npx tsc
	cp sdk/nodejs/package.json sdk/nodejs/README.md sdk/nodejs/bin/
	mkdir sdk/nodejs/dist
	cd sdk/nodejs/bin && npm pack --pack-destination ../dist
	cd sdk/nodejs && node -e 'const e = require("./bin"); if (!e.fly || !e.cloudflare) process.exit(1)'

# Starts from empty build/ and dist/: setuptools would pack stale files an earlier run left there.
sdk-build-python: ## Python SDK: build a wheel into sdk/python/dist and pip install it into SDK_VENV
	test -x $(SDK_VENV)/bin/pip || $(PYTHON) -m venv $(SDK_VENV)
	rm -rf sdk/python/build sdk/python/dist
	$(SDK_VENV)/bin/pip wheel --quiet --no-deps --wheel-dir sdk/python/dist ./sdk/python
	$(SDK_VENV)/bin/pip uninstall --quiet --yes pulumi_edgesecrets
	$(SDK_VENV)/bin/pip install --quiet sdk/python/dist/*.whl
	$(SDK_VENV)/bin/python -c 'import pulumi_edgesecrets as e; e.fly.FlySecret; e.cloudflare.Secret'

sdk-build-go: ## Go SDK: go build ./... in the sdk module
	cd sdk && $(GO) build ./...

# -parallel 4: the tests marked parallel mostly wait (emulated rate limits, read lag, machines), so
# more of them run at once than a 2-core machine has cores.
test: ## Every test: Go unit/integration (race), schema and SDK freshness, Go and workflow lint, end-to-end in 4 languages
	$(GO) test -race -count=1 -parallel 4 ./...
	$(MAKE) --no-print-directory check-generated
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory lint-workflows
	$(MAKE) --no-print-directory test-e2e

test-unit: ## Only the Go unit and integration tests (fast; no Pulumi CLI needed)
	$(GO) test -race -count=1 -parallel 4 ./...

# Built once per version from the Go module proxy, kept under a versioned name as scripts/install-tools.sh
# keeps the Pulumi CLI. shellcheck and pyflakes stay off (-shellcheck= -pyflakes=): actionlint
# would use them only where installed, and the lint must say the same on every machine.
ACTIONLINT := $(TOOLS_BIN)/actionlint-$(ACTIONLINT_VERSION)
$(ACTIONLINT):
	rm -rf $@.d
	GOBIN=$(abspath $@).d GOFLAGS= $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	mv $@.d/actionlint $@
	rm -rf $@.d

.PHONY: lint-workflows
lint-workflows: $(ACTIONLINT) ## Lint .github/workflows with actionlint (pinned: ACTIONLINT_VERSION)
	$(ACTIONLINT) -shellcheck= -pyflakes= .github/workflows/*.yml
	@echo "actionlint $(ACTIONLINT_VERSION): .github/workflows are clean"

# Built like actionlint. Lints the root module and tests/ (its own module); sdk/ is generated.
GOLANGCI_LINT := $(TOOLS_BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
$(GOLANGCI_LINT):
	rm -rf $@.d
	GOBIN=$(abspath $@).d GOFLAGS= $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $@.d/golangci-lint $@
	rm -rf $@.d

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Lint the Go code (root module and tests/) with golangci-lint (pinned: GOLANGCI_LINT_VERSION)
	$(GOLANGCI_LINT) run ./...
	cd tests && $(GOLANGCI_LINT) run --config $(abspath .golangci.yml) ./...
	@echo "golangci-lint $(GOLANGCI_LINT_VERSION): the root module and tests/ are clean"

bench: ## Benchmarks: time and allocations per provider operation against the emulator
	$(GO) test ./provider -run '^$$' -bench . -benchmem

# Not part of `make test`: it takes about half an hour (BENCH_RUNS runs of every stack, Fly's
# rate limit on and off, against the provider and the stub).
BENCH_RUNS ?= 3
bench-e2e: build tools ## End-to-end benchmark against a stub provider: prints one table, writes docs/benchmarks.md
	cd tests && TOOLS_BIN=$(TOOLS_BIN) EDGESECRETS_BENCH_RUNS=$(BENCH_RUNS) \
		EDGESECRETS_BENCH_OUT=$(abspath docs/benchmarks.md) \
		$(GO) test -count=1 -timeout 3h -run '^TestBenchmarkE2E$$' -v .

demo: build tools ## The demo: emulator + `pulumi up` of examples/yaml, show outputs, destroy (no account needed)
	TOOLS_BIN=$(TOOLS_BIN) VERSION=$(VERSION) scripts/demo.sh

.PHONY: e2e-deps test-e2e

# Idempotent: reinstalls an SDK only when its files changed (see the script).
e2e-deps: sdk-build ## Install what test-e2e runs programs with: npm packages in tests/testdata/nodejs and tests/testdata/wrangler, E2E_VENV
	PYTHON=$(PYTHON) E2E_VENV=$(E2E_VENV) tests/e2e-deps.sh

# EDGESECRETS_E2E_REQUIRE=1: a missing prerequisite fails the run instead of skipping a test.
# -parallel 8: the tests mostly wait (on Fly's rate limit, each with its own emulator and app),
# so more of them run at once than there are cores.
test-e2e: build dist-host tools sdk-build e2e-deps ## End-to-end tests: every example's lifecycle, pulumi import and the install from a release archive, against the emulator
	cd tests && EDGESECRETS_E2E_REQUIRE=1 TOOLS_BIN=$(TOOLS_BIN) \
		EDGESECRETS_E2E_PYTHON=$(abspath $(E2E_VENV))/bin/python \
		$(GO) test -count=1 -timeout 30m -parallel 8 -v ./...

.PHONY: test-load test-load-run
# Not part of `make test`: a tool for developers. The tests whose figures depend on how calls meet
# in time (the count tests, the scale and crash tests, the emulator's faults and the batching unit
# tests), LOAD_COUNT times each, while two CPU-bound loops (scripts/with-busy-cpus.sh, stopped when
# the run ends, however it ends) take the CPUs from them, as a busy CI machine would.
LOAD_COUNT ?= 3
# The tests, by name without "Test", per package: load-run-regexp joins them into -run's anchored pattern.
LOAD_EMULATOR_TESTS := FaultsAreReproducibleWithASeed ThrottleCarriesRetryAfter ServerErrorsUseEachAPIsShape \
	DropClosesTheConnection ConflictsHitFlyWritesOnly Latency LostResponsesApplyTheWrite CloudflareRateLimit \
	RateLimitIsOnByDefault FaultScheduleHitsTheRequestsItNames ParseScheduledFault
LOAD_CFAPI_TESTS := CreatesCoalesceAndShareActivationListings ATakenNameFailsOnlyItsOwnCreate \
	LostAnswerOfACoalescedCreateIsRecoveredPerName AwaitActiveGivesUpWithThePendingOnes
LOAD_FLYAPI_TESTS := CreatesCoalesceIntoOneWritePerRound AWriteWaitsForTheOperationsOnTheirWay ReadsShareOneListing \
	DestroyCostsOneWritePerRoundAndOneListing BatchWaitsAreToldToEveryCaller
LOAD_E2E_TESTS := FlySecretsOfOneAppCostAFewCalls CloudflareSecretsOfOneStoreCostAFewCalls \
	ScaleAgainstRealisticAPIs ScaleUnderFaults CrashMidCreateIsRecoverable
load_space := $(subst ,, )
load-run-regexp = ^Test($(subst $(load_space),|,$(strip $(1))))$$
test-load: build tools ## Count, scale, crash and fault tests LOAD_COUNT (3) times with two busy loops on the CPUs (not in `make test`)
	scripts/with-busy-cpus.sh $(MAKE) --no-print-directory test-load-run

test-load-run:
	$(GO) test -race -count=$(LOAD_COUNT) ./provider/internal/coalesce/...
	$(GO) test -race -count=$(LOAD_COUNT) -run '$(call load-run-regexp,$(LOAD_EMULATOR_TESTS))' ./emulator
	$(GO) test -race -count=$(LOAD_COUNT) -run '$(call load-run-regexp,$(LOAD_CFAPI_TESTS))' ./provider/internal/cfapi
	$(GO) test -race -count=$(LOAD_COUNT) -run '$(call load-run-regexp,$(LOAD_FLYAPI_TESTS))' ./provider/internal/flyapi
	cd tests && EDGESECRETS_E2E_REQUIRE=1 TOOLS_BIN=$(TOOLS_BIN) \
		$(GO) test -count=$(LOAD_COUNT) -timeout 90m -parallel 8 -run '$(call load-run-regexp,$(LOAD_E2E_TESTS))' -v .

.PHONY: test-live
# Opt-in, never part of `make test`: it needs real tokens and writes to a real app and account.
# Without EDGESECRETS_LIVE_FLY_APP, FLY_API_TOKEN, CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID
# the suite is skipped.
test-live: build tools sdk-build e2e-deps ## Opt-in: every example against the real Fly.io and Cloudflare APIs (docs/development.md, "Live tests")
	cd tests && EDGESECRETS_LIVE=1 EDGESECRETS_E2E_REQUIRE=1 TOOLS_BIN=$(TOOLS_BIN) \
		EDGESECRETS_E2E_PYTHON=$(abspath $(E2E_VENV))/bin/python \
		$(GO) test -count=1 -timeout 30m -run '^TestLive$$' -v ./...

clean: ## Remove build outputs (bin/, SDK builds); keeps TOOLS_BIN
	rm -rf bin sdk/nodejs/bin sdk/nodejs/dist sdk/nodejs/node_modules \
		sdk/python/build sdk/python/dist sdk/python/*.egg-info $(SDK_VENV) \
		tests/testdata/nodejs/node_modules $(E2E_VENV) dist
