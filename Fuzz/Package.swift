// swift-tools-version:6.1
// libFuzzer target for the market-data parser and the engine (docs/RELIABILITY.md, "Parser fuzzing").
// A package of its own so `swift build` of the service never builds it; scripts/fuzz builds it with
//   swift build -c release --package-path Fuzz --scratch-path .build-fuzz \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// `Sources/Strategies` is a symlink to the service's own target, compiled here with -O (bounds and
// overflow checks on, unlike the service's -Ounchecked) so that any out-of-range access traps.
import PackageDescription

let package = Package(
    name: "realtime-sidecar-fuzz",
    targets: [
        .target(name: "Strategies", path: "Sources/Strategies"),
        .executableTarget(name: "MarketFuzz", dependencies: ["Strategies"]),
    ]
)
