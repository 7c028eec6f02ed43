// Where the daemon tests find the binaries, the repository's files and the tools they need,
// and when a test must skip. These tests run the built drum-monitor as a subprocess and talk to
// it over its Unix socket, sd_notify datagrams and exit codes.
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

enum Locations {
    /// <repo>: this file is <repo>/Tests/DaemonTests/Locations.swift.
    static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The directory holding the running test bundle (<scratch>/<triple>/debug), whichever scratch
    /// path built it.
    static let testBundleDirectory: String? = {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let exe = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Swift Testing on Linux runs <scratch>/<triple>/debug/<package>PackageTests.xctest;
        // some runners use a helper next to it: either way the binary sits in the same directory.
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }()

    /// The debug drum-monitor under test: $DRUM_MONITOR_BIN, else the one built next to these
    /// tests (same scratch path as the test bundle), else <repo>/.build/debug/drum-monitor.
    static let binaryCandidates: [String] = {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["DRUM_MONITOR_BIN"], !env.isEmpty { return [env] }
        if let dir = testBundleDirectory { candidates.append(dir + "/drum-monitor") }
        candidates.append(repoRoot + "/.build/debug/drum-monitor")
        return candidates
    }()

    static let binary: String? = binaryCandidates.first { access($0, X_OK) == 0 }

    static func requireBinary() throws -> String {
        try #require(binary, "drum-monitor binary not found (looked at \(binaryCandidates)); build it or set DRUM_MONITOR_BIN")
    }

    static var staticBinary: String? {
        guard let p = ProcessInfo.processInfo.environment["DRUM_MONITOR_STATIC_BIN"], !p.isEmpty else { return nil }
        return p
    }

    static var drumVenv: String? {
        guard let p = ProcessInfo.processInfo.environment["DRUM_VENV"], !p.isEmpty else { return nil }
        return p
    }

    static let exampleConfig = repoRoot + "/config/drum-monitor.yaml"
    static let serviceUnit = repoRoot + "/systemd/drum-monitor.service"

    /// A program on PATH (or nil).
    static func tool(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in path.split(separator: ":") + ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

enum Conditions {
    /// For `.enabled(if:)`: prints why a test is skipped (a `SKIP` line, as CI expects), then answers.
    static func check(_ ok: Bool, _ reason: @autoclosure () -> String) -> Bool {
        RealSystem.skipNote(ok ? nil : reason(), "daemon test")
    }
}
