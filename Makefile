# Agora's build. `make help` lists the targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

GO ?= go
BIN := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)
export GOTOOLCHAIN := local

# Pinned tool versions, installed into ./bin by `go install pkg@version`.
STATICCHECK_VERSION := v0.8.2
GOSEC_VERSION := v2.30.0
BUF_VERSION := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
OAPI_CODEGEN_VERSION := v2.8.2

TOOLS := \
	staticcheck=honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) \
	gosec=github.com/securego/gosec/v2/cmd/gosec@$(GOSEC_VERSION) \
	buf=github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION) \
	protoc-gen-go=google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION) \
	oapi-codegen=github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@$(OAPI_CODEGEN_VERSION)
TOOL_STAMPS := $(foreach t,$(TOOLS),$(BIN)/.stamp-$(word 1,$(subst =, ,$(t)))-$(lastword $(subst @, ,$(t))))

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/agoracommerce/agora/internal/platform/buildinfo.version=$(VERSION)

TESTENV := scripts/testenv.sh
TEST_FLAGS ?= -count=1 -race -timeout 30m
GO_PACKAGES := ./...

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: run
run: build ## Run the whole shop locally (agora run; data in ./var or $$AGORA_DATA_DIR)
	$(BIN)/agora run

.PHONY: build
build: ## Build bin/agora
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/agora ./cmd/agora

.PHONY: test
test: deps-up ## Run every test (unit, integration, end-to-end) against real dependencies
	set -a; . "$$($(TESTENV) path)"; set +a; \
	$(GO) test $(TEST_FLAGS) $(GO_PACKAGES)

.PHONY: test-unit
test-unit: ## Run the tests that need no external dependency
	$(GO) test -short $(TEST_FLAGS) $(GO_PACKAGES)

.PHONY: bench
bench: deps-up ## Measure produce, outbox relay and consumer throughput on the real broker and PostgreSQL
	set -a; . "$$($(TESTENV) path)"; set +a; \
	AGORA_BENCH=1 $(GO) test -count=1 -timeout 30m -run TestBackboneThroughput -v ./test/bench

.PHONY: lambda-zips
lambda-zips: ## Build dist/lambda/<service>.zip (one linux/arm64 bootstrap, reproducible zips)
	GO=$(GO) scripts/lambda-zips.sh

IMAGE ?= agora:$(VERSION)

.PHONY: image
image: ## Build the container image for Fargate (deploy/docker/Dockerfile; needs Docker)
	docker build -f deploy/docker/Dockerfile --build-arg VERSION=$(VERSION) -t $(IMAGE) .

.PHONY: deps-up
deps-up: ## Start (or reuse) Kafka, PostgreSQL, Redis and moto for the tests
	$(TESTENV) up

.PHONY: deps-down
deps-down: ## Stop what deps-up started
	$(TESTENV) down

.PHONY: tools
tools: $(TOOL_STAMPS) ## Install the pinned tools into ./bin

$(BIN)/.stamp-%:
	@mkdir -p $(BIN)
	@spec='$(filter $(firstword $(subst -v, ,$*))=%,$(TOOLS))'; \
	pkg=$${spec#*=}; echo "installing $$pkg"; \
	GOBIN=$(BIN) $(GO) install $$pkg
	@touch $@

.PHONY: lint
lint: tools ## gofmt, go vet, staticcheck, gosec, buf lint and buf breaking
	@unformatted=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go' | grep -v '^gen/')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(GO_PACKAGES)
	staticcheck $(GO_PACKAGES)
	gosec -quiet -exclude-generated $(GO_PACKAGES)
	scripts/vulncheck.sh
	@if [ -f api/proto/buf.yaml ]; then scripts/buf-check.sh; fi
	scripts/terraform-check.sh

.PHONY: vulncheck
vulncheck: ## govulncheck on every Go module against the pinned vulnerability database (offline)
	scripts/vulncheck.sh

.PHONY: generate
generate: tools ## Regenerate everything generated (deterministic)
	scripts/generate.sh

.PHONY: check-generated
check-generated: tools ## Fail when generated code or go.mod/go.sum is stale
	@before=$$(scripts/generated-digest.sh); \
	scripts/generate.sh >/dev/null; \
	after=$$(scripts/generated-digest.sh); \
	if [ "$$before" != "$$after" ]; then \
	  echo "generated files were stale (now regenerated; review and commit):"; \
	  diff <(echo "$$before") <(echo "$$after") | sed -n 's/^[<>] //p' | awk 'NF {print "  " $$2}' | sort -u; exit 1; fi
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy; run 'go mod tidy'"; $(GO) mod tidy -diff | head -40; exit 1; }
	@echo "generated code is up to date"

.PHONY: clean
clean: ## Remove build output
	rm -rf $(BIN)/agora
