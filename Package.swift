// swift-tools-version: 6.2
// drum-monitor: samples a DRUM model server's cgroup memory and process-tree CPU into an
// in-memory history and serves it over a Unix socket. Modules follow the data flow, each
// depending only on modules before it:
//
//   SampleModel <- KernelReaders <- Sampler <- History <- QueryServer <- DaemonCore <- drum-monitor
//
// History needs only SampleModel; QueryServer only SampleModel and History (not the sampler nor
// the kernel readers); the executable only parses arguments and calls DaemonCore.
import PackageDescription

// The sampler's hot path crosses modules (SampleModel, KernelReaders -> Sampler -> History); let
// the optimizer specialize generics across them in release builds.
let crossModule: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

// Release links use lld with packed relative relocations (DT_RELR; glibc ≥ 2.36): the dynamic
// loader otherwise reads ~1.3 MiB of relocation records at every start and keeps them resident.
let compactRelocations: [LinkerSetting] = [
    .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"], .when(platforms: [.linux], configuration: .release)),
]

let package = Package(
    name: "drum-monitor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "drum-monitor", targets: ["drum-monitor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // libsystemd (sd_notify, sd_listen_fds, sd_watchdog_enabled) through pkg-config.
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // libyaml for the configuration file, bound directly: Yams would link all of Foundation in.
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        // The sample model every other module speaks: metrics, samples and their detail, cadence,
        // the clock, durations and timestamps as text, the staleness rule. Depends on nothing.
        .target(name: "SampleModel", swiftSettings: crossModule),
        // sockaddr_un built in one place, for the query server, the command-line client and the
        // tests. Depends on nothing of ours.
        .target(name: "UnixSocket", dependencies: [.product(name: "SystemPackage", package: "swift-system")]),
        // Reads the kernel: cgroup v1/v2 files, /proc, DRUM discovery. No policy, no timers.
        .target(
            name: "KernelReaders",
            dependencies: ["SampleModel", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: crossModule
        ),
        // Turns readings into samples on a timer: target tracking, CPU deltas, cadence.
        .target(
            name: "Sampler",
            dependencies: ["SampleModel", "KernelReaders", .product(name: "Logging", package: "swift-log")],
            swiftSettings: crossModule
        ),
        // The history store: a fixed-size ring of compact samples, memory-mapped from the history
        // file when there is one, with constant-time windows over any range.
        .target(name: "History", dependencies: ["SampleModel", .product(name: "SystemPackage", package: "swift-system")],
                swiftSettings: crossModule),
        // HTTP/1.1 + JSON on a Unix socket (SwiftNIO), /stats/, /metrics.
        .target(
            name: "QueryServer",
            dependencies: [
                "History", "SampleModel", "UnixSocket",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The daemon as a library: configuration and its YAML layer, the daemon's lifecycle and
        // signals, sd_notify and socket activation, the log handler, and the query client with its
        // text for people. Tested in-process (DaemonCoreTests).
        .target(
            name: "DaemonCore",
            dependencies: [
                "SampleModel", "Sampler", "History", "QueryServer", "UnixSocket", "CSystemd", "CYAML",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The command line: argument parsing only; everything it runs is in DaemonCore.
        .executableTarget(
            name: "drum-monitor",
            dependencies: [
                "DaemonCore", "SampleModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: compactRelocations
        ),
        // The resident-memory floor of the daemon's libraries, built the same way (make bench).
        .executableTarget(
            name: "drum-monitor-stack-floor",
            dependencies: [
                "CSystemd",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/StackFloor",
            linkerSettings: compactRelocations
        ),
        // Window-query cost against window length (make bench); not part of the daemon.
        .executableTarget(
            name: "drum-monitor-window-bench",
            dependencies: ["History", "SampleModel"],
            path: "Benchmarks/WindowBench"
        ),
        // Real cgroups and process trees for tests (root only); not shipped.
        .target(name: "TestSupport", dependencies: ["UnixSocket"], path: "Tests/TestSupport"),
        // The sampler's CPU per tick, back to back (make bench).
        .executableTarget(
            name: "drum-monitor-sampler-bench",
            dependencies: ["History", "Sampler", "KernelReaders"],
            path: "Benchmarks/SamplerBench",
            swiftSettings: crossModule
        ),
        .testTarget(name: "SampleModelTests", dependencies: ["SampleModel"]),
        .testTarget(name: "KernelReadersTests", dependencies: ["KernelReaders", "TestSupport"]),
        .testTarget(name: "HistoryTests", dependencies: ["History", "SampleModel", "TestSupport"]),
        .testTarget(name: "SamplerTests", dependencies: ["Sampler", "SampleModel", "KernelReaders", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "QueryServerTests", dependencies: [
            "QueryServer", "History", "SampleModel", "Sampler", "KernelReaders", "TestSupport", "UnixSocket",
            .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
        .testTarget(name: "DaemonCoreTests", dependencies: ["DaemonCore", "SampleModel", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "DaemonTests", dependencies: ["TestSupport", "UnixSocket"]),
    ],
    swiftLanguageModes: [.v6]
)
