# ecabinet: the two commands are `make run` and `make test`. The logic lives in
# scripts/ (bash); this file only names it. `make` alone lists the targets.

SHELL := bash
.DEFAULT_GOAL := help
.PHONY: help tools proto check-generated lint web build run test bench compose-check compose-env clean

help: ## list the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-z-]+:.*## / { printf "  make %-16s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

run: ## the whole suite on this machine (finds or starts PostgreSQL, NATS, MinIO); Ctrl-C stops it
	@scripts/run.sh

test: ## every test: check-generated, vet, all modules with -race, e2e and browser tests
	@scripts/test.sh

bench: ## the benchmarks in e2e/bench, with their baselines
	@scripts/bench.sh

tools: ## install the pinned Go tools into ./bin (buf, protoc plugins, minio, nats-server)
	@scripts/tools.sh

proto: ## regenerate proto/gen from proto/ (pinned buf and plugins, no network)
	@scripts/proto.sh generate

check-generated: ## regenerate and fail if proto/gen differs from what is committed
	@scripts/proto.sh check

lint: ## buf lint, buf breaking against main, gofmt, go vet
	@scripts/lint.sh

web: ## build the web app into gateway/web/dist (needs Node.js)
	@scripts/build.sh web

build: ## build bin/ecabinet (with the web app when Node.js is installed)
	@scripts/build.sh

compose-check: ## validate docker-compose.yml and deploy/ (no container engine needed)
	@scripts/compose-check.sh

compose-env: ## write .data/compose.env, the secrets docker-compose.yml needs
	@scripts/compose-env.sh

clean: ## remove build output (keeps .data/, ./bin tools and node_modules)
	@scripts/clean.sh
