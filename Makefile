# Cairn. `make` builds; `make help` lists the targets.
#
# Everything here needs only Go (and make, bash). Pinned tools are installed
# into .tools/ on first use. The race detector needs a C compiler; without
# one, `make test` says so and runs the tests without -race.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

MODULE := github.com/cairn-lake/cairn
GO     ?= go
BIN    := bin
TOOLS  := $(CURDIR)/.tools

# Pinned tool versions.
STATICCHECK_VERSION        := v0.8.2
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2

# Tests. Packages with concurrency run under the race detector: storage,
# node, query and the agent (all but its generator). The cluster tests in test/ run twice: the
# quick ones (-short) under the race detector, then all of them without it
# (the 50,000-event fault and process tests are too slow under -race on two
# cores). Add flags with TESTFLAGS, e.g. make test TESTFLAGS='-run TestIngest -v'.
TEST_TIMEOUT ?= 12m
TESTFLAGS    ?=
RACE_PKGS_MATCH := $(MODULE)/storage $(MODULE)/storage/% \
                   $(MODULE)/node $(MODULE)/node/% \
                   $(MODULE)/query $(MODULE)/query/% \
                   $(MODULE)/test/% \
                   $(MODULE)/cmd/cairn-agent $(MODULE)/cmd/cairn-agent/deliver \
                   $(MODULE)/cmd/cairn-agent/source $(MODULE)/cmd/cairn-agent/spool
CLUSTER_PKG := $(MODULE)/test
ALL_PKGS   = $(shell $(GO) list -e ./...)
RACE_PKGS  = $(filter $(RACE_PKGS_MATCH),$(ALL_PKGS))
OTHER_PKGS = $(filter-out $(RACE_PKGS_MATCH) $(CLUSTER_PKG),$(ALL_PKGS))
RACE_FLAG  = $(if $(filter 1,$(shell $(GO) env CGO_ENABLED)),-race)

# Benchmarks: every Benchmark function in BENCH_PKGS (missing directories are
# skipped), e.g. make bench BENCH=Ingest BENCHTIME=5s.
BENCH_PKGS ?= ./storage/ ./storage/event/ ./cmd/cairn-agent/gen/ ./test/...
BENCH      ?= .
BENCHTIME  ?= 1s
BENCH_EXISTING = $(foreach p,$(BENCH_PKGS),$(if $(wildcard $(patsubst %/,%,$(patsubst %/...,%,$(p)))),$(p)))

# Docker. The image is labelled with the SHA-256 of the binaries it holds, so
# that `make up` rebuilds it only when bin/ has changed. COMPOSE is the
# Compose v2 plugin when the docker client has it, else docker-compose.
IMAGE        ?= cairn:dev
BINARIES     := $(BIN)/cairnd $(BIN)/cairnctl $(BIN)/cairn-agent
IMAGE_LABEL  := org.cairn-lake.binaries-sha256
COMPOSE      ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
COMPOSE_RUN   = CAIRN_IMAGE=$(IMAGE) $(COMPOSE) -f deploy/compose.yaml -p cairn
UP_TIMEOUT   ?= 180

.PHONY: all build test lint proto run bench clean help tools-lint tools-proto docker up down e2e

all: build

help:
	@echo "make build   static binaries in bin/: cairnd, cairnctl, cairn-agent"
	@echo "make test    go test ./... (-race on storage, node, the agent and the quick cluster tests)"
	@echo "make lint    gofmt, go vet, staticcheck $(STATICCHECK_VERSION), the import-direction test"
	@echo "make run     start a dev node in ./data, load 20000 sample events, show status, stop"
	@echo "make bench   run the benchmarks and print their figures"
	@echo "make proto   regenerate proto/cairn/v1 from its .proto files"
	@echo "make clean   remove bin/"
	@echo "make docker  build the image $(IMAGE) from the binaries of make build"
	@echo "make up      start a 3-node cluster and an agent in Docker (deploy/compose.yaml) and wait until it is formed"
	@echo "make down    stop the Docker cluster and delete its containers and volumes"
	@echo "make e2e     fault tests: 3-node clusters in Docker killed, partitioned, paused, stopped and restarted under load"

# cairnd is linked statically with cgo when a C compiler and a static C
# library are there, so that Pebble compresses with the C zstd library (a
# fifth to a third more events per second on a 3-node cluster than Pebble's
# pure-Go zstd; docs/benchmarks.md). netgo and osusergo keep the binary from needing
# the C library's name lookups, so it runs on an empty image. Without them,
# it is built with CGO_ENABLED=0. cairnctl and cairn-agent have no use for
# cgo.
STATIC_CGO = $(shell cc="$$($(GO) env CC)"; [ "$$($(GO) env CGO_ENABLED)" = 1 ] && \
	command -v "$${cc%% *}" >/dev/null 2>&1 && [ -f "$$($${cc} -print-file-name=libc.a)" ] && echo 1)
CAIRND_CGO_FLAGS := -tags netgo,osusergo -ldflags '-linkmode external -extldflags "-static"'

build:
	@mkdir -p $(BIN)
ifeq ($(STATIC_CGO),1)
	CGO_ENABLED=1 $(GO) build -trimpath $(CAIRND_CGO_FLAGS) -o $(BIN)/ ./cmd/cairnd
else
	@echo "note: no C compiler or static C library, so cairnd is built without cgo (pure-Go zstd, slower)" >&2
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./cmd/cairnd
endif
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./cmd/cairnctl ./cmd/cairn-agent

# The process tests in test/ run the binaries of `make build` (CAIRN_BIN).
test: build
	@$(if $(RACE_FLAG),,echo "note: no C compiler found (cgo is off), so tests run without -race" >&2)
	$(if $(RACE_PKGS),$(GO) test $(RACE_FLAG) -timeout $(TEST_TIMEOUT) $(TESTFLAGS) $(RACE_PKGS))
	$(if $(OTHER_PKGS),$(GO) test -timeout $(TEST_TIMEOUT) $(TESTFLAGS) $(OTHER_PKGS))
	CAIRN_BIN=$(CURDIR)/$(BIN) $(GO) test $(RACE_FLAG) -short -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./test/
	CAIRN_BIN=$(CURDIR)/$(BIN) $(GO) test -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./test/

lint: tools-lint
	@echo "gofmt -l ."
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "these files need gofmt -w:" >&2; echo "$$unformatted" >&2; exit 1; \
	fi
	$(GO) vet ./...
	$(TOOLS)/staticcheck ./...
	$(GO) test -count=1 ./test/lint/

# Installs staticcheck into .tools unless the pinned version is there.
tools-lint:
	@if ! $(TOOLS)/staticcheck -version 2>/dev/null | grep -qF '($(STATICCHECK_VERSION:v%=%))'; then \
		echo "installing staticcheck $(STATICCHECK_VERSION) into .tools"; \
		GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION); \
	fi

proto: tools-proto
	PATH="$(TOOLS):$$PATH" protoc -I proto \
		--go_out=. --go_opt=module=$(MODULE) \
		--go-grpc_out=. --go-grpc_opt=module=$(MODULE) \
		proto/cairn/v1/*.proto

# Installs the pinned protoc plugins into .tools, and protoc itself with
# apt-get when it is missing.
tools-proto:
	@if ! $(TOOLS)/protoc-gen-go --version 2>/dev/null | grep -qxF 'protoc-gen-go $(PROTOC_GEN_GO_VERSION)'; then \
		echo "installing protoc-gen-go $(PROTOC_GEN_GO_VERSION) into .tools"; \
		GOBIN=$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION); \
	fi
	@if ! $(TOOLS)/protoc-gen-go-grpc --version 2>/dev/null | grep -qxF 'protoc-gen-go-grpc $(PROTOC_GEN_GO_GRPC_VERSION:v%=%)'; then \
		echo "installing protoc-gen-go-grpc $(PROTOC_GEN_GO_GRPC_VERSION) into .tools"; \
		GOBIN=$(TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION); \
	fi
	@if ! command -v protoc >/dev/null; then \
		echo "protoc not found; installing protobuf-compiler with apt-get"; \
		sudo=""; if [ "$$(id -u)" -ne 0 ]; then sudo=sudo; fi; \
		$$sudo apt-get install -y protobuf-compiler || { $$sudo apt-get update && $$sudo apt-get install -y protobuf-compiler; }; \
	fi

run: build
	scripts/run.sh

bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) -timeout 60m $(BENCH_EXISTING)

clean:
	rm -rf $(BIN)

docker: build
	docker build -f deploy/Dockerfile -t $(IMAGE) \
		--label $(IMAGE_LABEL)=$$(cat $(BINARIES) | sha256sum | cut -d' ' -f1) .

# Builds the image first when it is missing or holds other binaries than
# bin/ (when bin/ is incomplete, an existing image is used as it is).
up:
	@if ! have="$$(docker image inspect -f '{{index .Config.Labels "$(IMAGE_LABEL)"}}' $(IMAGE) 2>/dev/null)"; then \
		echo "==> image $(IMAGE) not found; building it"; \
		$(MAKE) --no-print-directory docker; \
	elif ls $(BINARIES) >/dev/null 2>&1 && [ "$$have" != "$$(cat $(BINARIES) | sha256sum | cut -d' ' -f1)" ]; then \
		echo "==> image $(IMAGE) holds other binaries than $(BIN)/; rebuilding it"; \
		$(MAKE) --no-print-directory docker; \
	fi
	$(COMPOSE_RUN) up -d
	@if [ ! -x $(BIN)/cairnctl ]; then $(MAKE) --no-print-directory build; fi
	@echo "==> waiting up to $(UP_TIMEOUT)s for 3 nodes and every shard with a leader and 3 replicas"
	@if ! TIMEOUT=$(UP_TIMEOUT) CAIRNCTL=$(BIN)/cairnctl deploy/wait-cluster.sh 127.0.0.1:7401; then \
		echo "==> the end of the cluster's logs:" >&2; \
		$(COMPOSE_RUN) logs --no-color --tail 30 >&2; \
		exit 1; \
	fi
	$(BIN)/cairnctl --server 127.0.0.1:7401 status

down:
	$(COMPOSE_RUN) down --volumes --remove-orphans

# The fault tests in test/e2e (build tag e2e) run clusters of the image
# $(IMAGE) in containers and the agents of bin/ on the host; they need a
# Docker engine. E2E_REPORT=file collects their summary lines,
# E2E_LOG_DIR=dir keeps every node's log; E2EFLAGS adds flags, e.g.
# make e2e E2EFLAGS='-run TestFaultPause'.
E2EFLAGS ?=
e2e: docker
	CAIRN_BIN=$(CURDIR)/$(BIN) CAIRN_IMAGE=$(IMAGE) $(GO) test -tags e2e -count=1 -timeout 20m ./test/e2e/ -v $(E2EFLAGS)
