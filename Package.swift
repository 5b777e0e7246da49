// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "realtime-sidecar",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "realtime-sidecar", targets: ["realtime-sidecar"]),
        .executable(name: "sidecarctl", targets: ["sidecarctl"]),
        .library(name: "Strategies", targets: ["Strategies"]),
        .library(name: "NATS", targets: ["NATS"]),
        .library(name: "Sidecar", targets: ["Sidecar"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        // REST depth snapshots over HTTPS (host names resolved, TLS by swift-nio-ssl: no shared library).
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // Ed25519: the public key of a NATS NKey seed (already resolved through async-http-client).
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
    ],
    targets: [
        // C libraries from Debian's -dev packages, each wrapped once (CNATS only in NATS).
        .systemLibrary(name: "CNATS", pkgConfig: "libnats", providers: [.apt(["libnats-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c", providers: [.apt(["libprotobuf-c-dev"])]),
        // protoc-c output for proto/realtime/v1/sidecar.proto (scripts/generate-proto), committed.
        .target(name: "CSidecarProto", dependencies: ["CProtobufC"], path: "Sources/Proto", publicHeadersPath: "include"),

        // Pure Swift: market events, parser, book state, depth metrics, strategies, signals.
        .target(
            name: "Strategies",
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),

        // The libnats wrapper: client, subscription, KV, callbacks, errors. The only importer of
        // CNATS; depends on no module of ours (ModuleDirectionTests checks both). Swift 6 mode:
        // it compiles clean under complete checking (the other targets follow in #16).
        .target(
            name: "NATS",
            dependencies: ["CNATS", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),

        // Runtime: ingest, HTTP, stats, services and lifecycle.
        .target(
            name: "Sidecar",
            dependencies: [
                "Strategies", "NATS", "CZlib", "CProtobufC", "CSidecarProto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .executableTarget(
            name: "realtime-sidecar",
            dependencies: ["Sidecar", "NATS", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .executableTarget(
            name: "sidecarctl",
            dependencies: ["Sidecar", "NATS", "Strategies", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .testTarget(name: "StrategiesTests", dependencies: ["Strategies"]),
        .testTarget(
            name: "SidecarTests",
            dependencies: ["Sidecar", "NATS", "Strategies", .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "Metrics", package: "swift-metrics")],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ]
)
