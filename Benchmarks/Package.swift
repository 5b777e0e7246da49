// swift-tools-version:6.1
// package-benchmark suites, kept in their own package so the main package (and `make test`)
// never builds the benchmark dependency. Run: `make bench-micro` from the repository root.
import Foundation
import PackageDescription

// A path dependency's identity is its folder name, which differs between clones.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let rootIdentity = root.lastPathComponent.lowercased()

let package = Package(
    name: "realtime-sidecar-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Frame loading (real replays or synthetic) shared by the suites and the profiling driver.
        .target(name: "BenchSupport", dependencies: [.product(name: "Strategies", package: rootIdentity)]),
        .executableTarget(
            name: "HotPath",
            dependencies: [
                "BenchSupport",
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "Strategies", package: rootIdentity),
            ],
            path: "Benchmarks/HotPath",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        // Socket protobuf encode/decode through the project's codec (SocketCodec, SocketMapping via @_spi(Benchmarks)).
        .executableTarget(
            name: "Protobuf",
            dependencies: [
                "BenchSupport",
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "Sidecar", package: rootIdentity),
                .product(name: "Strategies", package: rootIdentity),
            ],
            path: "Benchmarks/Protobuf",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        // Not a benchmark: a fixed-count driver for valgrind --tool=callgrind (scripts/profile-hot-path).
        .executableTarget(name: "HotPathProfile", dependencies: ["BenchSupport", .product(name: "Strategies", package: rootIdentity)]),
    ]
)
