// swift-tools-version: 6.2
// drum-monitor: samples a DRUM model server's cgroup memory and process-tree CPU into an
// in-memory history and serves it over a Unix socket. Modules follow the data flow, each
// depending only on modules before it:
//
//   SampleModel <- KernelReaders <- Sampler <- History <- QueryServer <- DaemonCore <- drum-monitor
//
// History needs only SampleModel; QueryServer only SampleModel and History (not the sampler nor
// the kernel readers); the executable only parses arguments and calls DaemonCore.
// BuildInfo (the version and git revision, generated at build time) is a leaf beside SampleModel.
import PackageDescription

// The sampler's hot path crosses modules (SampleModel, KernelReaders -> Sampler -> History); let
// the optimizer specialize generics across them in release builds.
let crossModule: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

// Release links: symbols bound at start (-z now, so the relocated GOT is read-only for the whole
// run: full RELRO for a daemon running as root). No packed relative relocations (lld's -z
// pack-relative-relocs, DT_RELR): they need glibc 2.36, and the shipped binary's floor is glibc
// 2.35 (Ubuntu 22.04); Tests/Package/glibc-floor.sh checks it. The stack floor (make bench) is
// linked the same way, so its memory stays comparable with the daemon's.
let releaseLink: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "-z", "-Xlinker", "now"], .when(platforms: [.linux], configuration: .release)),
]

let package = Package(
    name: "drum-monitor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "drum-monitor", targets: ["drum-monitor"]),
    ],
    // Exact versions: every build of a given commit resolves the same code. Package.resolved is not
    // committed (the local package mirror's revisions mean nothing elsewhere); the transitive
    // packages (swift-atomics, swift-collections, swift-metrics) follow from these.
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", exact: "1.8.1"),
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
        // The version (from the VERSION file) and the git revision, written at build time by
        // BuildInfoPlugin (packaging/build-info.sh), for `--version` and /healthz. Depends on nothing.
        .target(name: "BuildInfo", plugins: ["BuildInfoPlugin"]),
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
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
        // HTTP/1.1 + JSON on a Unix socket (SwiftNIO), /stats/, /metrics (its own text writer);
        // the opt-in TCP listener for /metrics and /healthz.
        .target(
            name: "QueryServer",
            dependencies: [
                "History", "SampleModel", "UnixSocket", "BuildInfo",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The daemon as a library: configuration and its YAML layer, the daemon's lifecycle and
        // signals, sd_notify and socket activation, the log handler, and the query client with its
        // text for people. Tested in-process (DaemonCoreTests).
        .target(
            name: "DaemonCore",
            dependencies: [
                "SampleModel", "KernelReaders", "Sampler", "History", "QueryServer", "UnixSocket", "CSystemd", "CYAML",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The command line: argument parsing only; everything it runs is in DaemonCore.
        .executableTarget(
            name: "drum-monitor",
            dependencies: [
                "DaemonCore", "SampleModel", "BuildInfo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: releaseLink
        ),
        // The floor of the daemon's stack (make bench): its libraries and its query server's
        // pipeline answering a constant body, built the same way.
        .executableTarget(
            name: "drum-monitor-stack-floor",
            dependencies: [
                "CSystemd", "QueryServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/StackFloor",
            linkerSettings: releaseLink
        ),
        // Window-query cost against window length (make bench); not part of the daemon.
        .executableTarget(
            name: "drum-monitor-window-bench",
            dependencies: ["History", "SampleModel"],
            path: "Benchmarks/WindowBench"
        ),
        // Real cgroups and process trees for tests (root only); not shipped.
        .target(name: "TestSupport", dependencies: ["UnixSocket", .product(name: "Logging", package: "swift-log")], path: "Tests/TestSupport"),
        // The sampler's CPU per tick, back to back (make bench).
        .executableTarget(
            name: "drum-monitor-sampler-bench",
            dependencies: ["History", "Sampler", "KernelReaders", "SampleModel"],
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
