# realtime-sidecar: the two commands a fresh machine needs are `make demo` and `make test`.
SWIFT ?= swift

.PHONY: demo test deps build release clean bench bench-micro bench-all profile

## Run the service on an embedded default: a local nats-server and a synthetic feed.
## Options: DURATION=<seconds> REPLAY=<file.jsonl[.gz]> RATE=<msg/s> SPEED=<x> NATS_URL=<url>
demo: deps
	scripts/demo

## Install what is missing, build, and run every test (Swift, then the Python client's against the built sidecar,
## then the Kubernetes manifests, Dockerfile and dashboard against the built binaries).
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel
	cd clients/python && SIDECAR_BIN_DIR="$$($(SWIFT) build --show-bin-path)" ../../.venv-python/bin/python -m pytest
	SIDECAR_BIN_DIR="$$($(SWIFT) build --show-bin-path)" .venv-python/bin/python -m pytest k8s/tests

## Debian packages (libnats-dev, libprotobuf-c-dev, nats-server, ...), installed only when missing.
deps:
	scripts/install-deps

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## Load test on loopback (own nats-server and release sidecar): ingest throughput against a no-op
## subscriber, RSS with 500 symbols, publish → socket signal latency, GetDepthMetrics RTT and throughput.
## Writes bench-results/<timestamp>.json. Not part of `make test`.
## Options: BENCH_ARGS="--seconds 30".
bench: deps
	scripts/bench $(BENCH_ARGS)

## package-benchmark suites in Benchmarks/ (its own package, so `make test` never builds it).
bench-micro:
	cd Benchmarks && $(SWIFT) package benchmark --no-progress $(BENCH_MICRO_ARGS)

bench-all: bench bench-micro

## Hot-path instruction counts under valgrind --tool=callgrind (repeatable on a noisy machine).
profile:
	scripts/profile-hot-path

clean:
	rm -rf .build
