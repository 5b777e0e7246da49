# realtime-sidecar: the two commands a fresh machine needs are `make demo` and `make test`.
SWIFT ?= swift

.PHONY: demo test deps build release clean

## Run the service on an embedded default: a local nats-server and a synthetic feed.
## Options: DURATION=<seconds> REPLAY=<file.jsonl[.gz]> RATE=<msg/s> SPEED=<x> NATS_URL=<url>
demo: deps
	scripts/demo

## Install what is missing, build, and run every test.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel

## Debian packages (libnats-dev, libprotobuf-c-dev, nats-server, ...), installed only when missing.
deps:
	scripts/install-deps

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

clean:
	rm -rf .build
