# realtime-sidecar: the two commands a fresh machine needs are `make demo` and `make test`.
SWIFT ?= swift

.PHONY: book-integrity demo test deps build release image clean bench bench-micro bench-all profile fuzz soak api-fuzz chaos

## Run the service on an embedded default: a local nats-server and a synthetic feed.
## Options: DURATION=<seconds> REPLAY=<file.jsonl[.gz]> RATE=<msg/s> SPEED=<x> NATS_URL=<url>
demo: deps
	scripts/demo

## Install what is missing, build, and run every test (Swift, then the Python client's against the built sidecar,
## then the Kubernetes manifests, Dockerfile and dashboard against the built binaries, then schemathesis
## against the built sidecar's /openapi.json (API_FUZZ_MAX_EXAMPLES=20 per operation), then the books' and the
## secret-leak tests against the built binaries (tests/book-integrity, tests/security), then a
## bounded libFuzzer run on the parser and engine: FUZZ_TEST_SECONDS, default 60).
FUZZ_TEST_SECONDS ?= 60
# No test may reach Binance: sidecars started by the tests inherit these (a test that needs
# snapshots points them at its own loopback server).
test demo soak bench: export DEPTH_SNAPSHOT_URL_SPOT ?= off
test demo soak bench: export DEPTH_SNAPSHOT_URL_USDM ?= off
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel
	cd clients/python && SIDECAR_BIN_DIR="$$($(SWIFT) build --show-bin-path)" ../../.venv-python/bin/python -m pytest
	SIDECAR_BIN_DIR="$$($(SWIFT) build --show-bin-path)" .venv-python/bin/python -m pytest k8s/tests
	SIDECAR_BIN_DIR="$$($(SWIFT) build --show-bin-path)" .venv-python/bin/python -m pytest -p no:cacheprovider tests/http-api
	SIDECAR_BIN_DIR="$$($(SWIFT) build --show-bin-path)" .venv-python/bin/python -m pytest -p no:cacheprovider tests/book-integrity
	SIDECAR_BIN_DIR="$$($(SWIFT) build --show-bin-path)" .venv-python/bin/python -m pytest -p no:cacheprovider tests/security
	FUZZ_SECONDS=$(FUZZ_TEST_SECONDS) FUZZ_RUNS=-1 scripts/fuzz

## The book tests alone (docs/BOOKS.md; part of `make test`): every replay relabelled as the upstream does, through
## the built sidecar with a loopback REST snapshot server serving the book as of the replay's position.
book-integrity: deps
	$(SWIFT) build
	SIDECAR_BIN_DIR="$$($(SWIFT) build --show-bin-path)" .venv-python/bin/python -m pytest -s -p no:cacheprovider tests/book-integrity

## Full-size libFuzzer run on the parser and engine (docs/RELIABILITY.md): FUZZ_RUNS inputs or
## FUZZ_SECONDS seconds (0 = no time limit), whichever comes first. Builds Fuzz/ in .build-fuzz.
FUZZ_RUNS ?= 10000000
FUZZ_SECONDS ?= 0
fuzz:
	FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz

## Full-size reliability runs (docs/RELIABILITY.md); none is part of `make test`.
## HTTP API fuzzing: schemathesis, every operation, every check. Options: API_FUZZ_MAX_EXAMPLES (default 300), API_FUZZ_SEED.
api-fuzz: deps
	$(SWIFT) build
	SIDECAR_BIN_DIR="$$($(SWIFT) build --show-bin-path)" API_FUZZ_MAX_EXAMPLES="$${API_FUZZ_MAX_EXAMPLES:-300}" \
		.venv-python/bin/python -m pytest -s -p no:cacheprovider tests/http-api

## NATS chaos at full size: 10 SIGKILL/restarts at 20k msg/s. Options: CHAOS_RESTARTS, CHAOS_RATE, CHAOS_SEED.
chaos: deps
	$(SWIFT) build --build-tests
	CHAOS_RESTARTS="$${CHAOS_RESTARTS:-10}" CHAOS_RATE="$${CHAOS_RATE:-20000}" $(SWIFT) test --skip-build --filter ChaosTests

## Soak: one hour of steady feed with a socket subscriber and periodic HTTP and socket queries; RSS and
## latency percentiles per minute into bench-results/soak-<timestamp>.{json,csv}; fails when they trend up.
## Options: SOAK_SECONDS (3600), SOAK_RATE (5000 msg/s), SOAK_WINDOW (60 s), SOAK_REPLAY=<file> (else the synthetic market).
soak: deps
	$(SWIFT) build
	SIDECAR_BIN_DIR="$$($(SWIFT) build --show-bin-path)" .venv-python/bin/python scripts/soak

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

## Container image from the Dockerfile with the dependency versions of Package.resolved (generated here
## from Package.swift when missing; the tests ran against the same file). Options: IMAGE=<name:tag>.
IMAGE ?= ghcr.io/example/realtime-sidecar:0.1.0
image:
	$(SWIFT) package resolve
	docker build -t $(IMAGE) .

clean:
	rm -rf .build .build-fuzz
