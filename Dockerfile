# syntax=docker/dockerfile:1
# realtime-sidecar image: build with the official Swift 6.3 image on Debian bookworm, run on
# debian:bookworm-slim with only the C libraries the binaries link.
#
#   docker build -t ghcr.io/example/realtime-sidecar:0.1.0 .
#
# The Swift runtime and Foundation are linked statically (--static-swift-stdlib), so the runtime
# stage needs no /usr/lib/swift; libnats, libprotobuf-c and zlib stay Debian shared libraries, the
# same versions the project builds and tests against (scripts/install-deps).
# UID/GID 10001 matches runAsUser/runAsGroup of the realtime-sidecar container in
# k8s/sidecar/deployment.yaml (k8s/tests/test_manifests.py checks both).

ARG SWIFT_IMAGE=swift:6.3.1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- build --------------------------------------------------------------------------------
FROM ${SWIFT_IMAGE} AS build
# The -dev packages of the system-library targets (Package.swift: CNATS, CProtobufC, CZlib),
# and pkg-config, which SwiftPM uses to find them.
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends libnats-dev libprotobuf-c-dev zlib1g-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so a source change does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY proto ./proto
RUN swift build -c release --static-swift-stdlib --product realtime-sidecar \
    && swift build -c release --static-swift-stdlib --product sidecarctl \
    && mkdir -p /out \
    && cp "$(swift build -c release --show-bin-path)/realtime-sidecar" "$(swift build -c release --show-bin-path)/sidecarctl" /out/ \
    && cp /usr/libexec/swift/linux/swift-backtrace-static /out/

# ---- runtime ------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
# Shared libraries of the binaries: libnats (it pulls libssl3), libprotobuf-c, zlib; libstdc++
# and libgcc for the statically linked Swift runtime; CA certificates for tls:// NATS URLs.
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends libnats3.4 libprotobuf-c1 zlib1g libstdc++6 libgcc-s1 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 sidecar \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sidecar \
    && install -d -o 10001 -g 10001 -m 0770 /var/run/realtime-sidecar /var/lib/realtime-sidecar/config
COPY --from=build /out/realtime-sidecar /out/sidecarctl /usr/local/bin/
# Swift's static crash backtracer: a crash prints symbolicated stacks of every thread to the log.
COPY --from=build /out/swift-backtrace-static /usr/local/libexec/swift-backtrace-static
ENV SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/usr/local/libexec/swift-backtrace-static
USER 10001:10001
# HTTP: /healthz, /ready, /metrics, /api/v1/... (HTTP_PORT).
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/realtime-sidecar"]
