// swift-tools-version:6.1
// Micro-benchmarks of the gateway's pure hot-path steps, with ordo-one/benchmark (allocations counted).
// A package of its own so the gateway's build and CI never build the benchmark tooling.
// Run: cd Benchmarks && swift package --allow-writing-to-package-directory benchmark
import Foundation
import PackageDescription

// The gateway package is the parent folder; its identity is that folder's name, whatever the clone is called.
let gateway = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "switchyard-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "HotPath",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SwitchyardCore", package: gateway),
                .product(name: "SwitchyardProviders", package: gateway),
                .product(name: "SwitchyardServer", package: gateway),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/HotPath",
            // As the gateway's own modules are built (its Package.swift): with cross-module optimisation, some of
            // their generic code is emitted into each client rather than exported, so a client built without it
            // fails to link (the stream decoder's `decode`/`finish`).
            swiftSettings: [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
