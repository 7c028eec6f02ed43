// `drum-monitor check-config` and `serve` with a bad configuration: exit codes and messages that
// name the file, the line and the key.
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("configuration")
struct ConfigCommandTests {
    @Test func shippedConfigIsValid() throws {
        let bin = try Locations.requireBinary()
        let r = try run(bin, ["check-config", Locations.exampleConfig], environment: cleanEnvironment())
        #expect(r.status == 0, "check-config of the shipped file: \(r.stderr)")
        #expect(r.stdout.contains("\(Locations.exampleConfig): OK"), "\(r.stdout)")
        #expect(r.stdout.contains("interval: 1s"), "\(r.stdout)")
    }

    struct BadFile: Sendable, CustomStringConvertible {
        var name: String
        var bytes: [UInt8]
        var line: Int
        var key: String?
        var description: String { name }
    }

    static let badFiles: [BadFile] = [
        BadFile(name: "unknown key on line 3", bytes: Array("interval: 1s\nretention: 1h\nbogus_setting: 3\n".utf8), line: 3, key: "bogus_setting"),
        BadFile(name: "interval below the minimum on line 2", bytes: Array("retention: 1h\ninterval: 5ms\n".utf8), line: 2, key: "interval"),
        BadFile(name: "broken YAML on line 2", bytes: Array("interval: 1s\nretention: 1h: 2h\nsocket: /tmp/x.sock\n".utf8), line: 2, key: nil),
        // libyaml notices at the end of the file; the quote that was never closed is on line 2.
        BadFile(name: "unterminated quote on line 2", bytes: Array("interval: 1s\nretention: \"1h\n".utf8), line: 2, key: nil),
        BadFile(name: "a list value on line 2", bytes: Array("retention: 1h\ninterval: [1s, 2s]\n".utf8), line: 2, key: "interval"),
        BadFile(name: "not UTF-8 on line 2", bytes: Array("interval: 1s\nsocket_group: \"".utf8) + [0xff, 0xfe] + Array("\"\n".utf8), line: 2, key: "socket_group"),
    ]

    /// Exit 1; stderr names the file, the line (FILE:LINE) and, where there is one, the key.
    @Test(arguments: badFiles)
    func badFileIsRejected(_ bad: BadFile) throws {
        let bin = try Locations.requireBinary()
        let dir = try TempDir()
        defer { dir.remove() }
        let path = try dir.write("bad.yaml", bytes: bad.bytes)
        let r = try run(bin, ["check-config", path], environment: cleanEnvironment())
        #expect(r.status == 1, "exit \(r.status) for \(bad.name): \(r.stderr)")
        #expect(r.stderr.contains("\(path):\(bad.line)"), "stderr does not name \(path):\(bad.line): \(r.stderr)")
        if let key = bad.key { #expect(r.stderr.contains(key), "stderr does not name the key \(key): \(r.stderr)") }
        #expect(!r.stdout.contains("OK"), "\(r.stdout)")
    }

    @Test func environmentOverrideShowsInEffectiveConfig() throws {
        let bin = try Locations.requireBinary()
        let r = try run(bin, ["check-config", Locations.exampleConfig], environment: cleanEnvironment(["DRUM_MONITOR_INTERVAL": "250ms"]))
        #expect(r.status == 0, "\(r.stderr)")
        let intervalLine = r.stdout.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("interval:") }
        #expect(intervalLine?.trimmingCharacters(in: .whitespaces) == "interval: 250ms", "effective config:\n\(r.stdout)")
    }

    /// An unknown DRUM_MONITOR_* variable is named in a warning, not fatal: other tools use the
    /// prefix too (make test's DRUM_MONITOR_STATIC_BIN). A bad value for a known one is an error.
    @Test func environmentVariablesAreChecked() throws {
        let bin = try Locations.requireBinary()
        let unknown = try run(bin, ["check-config", Locations.exampleConfig], environment: cleanEnvironment(["DRUM_MONITOR_FOO": "1"]))
        #expect(unknown.status == 0, "exit \(unknown.status): \(unknown.stderr)")
        #expect(unknown.stderr.contains("DRUM_MONITOR_FOO"), "no warning naming DRUM_MONITOR_FOO: \(unknown.stderr)")

        let bad = try run(bin, ["check-config", Locations.exampleConfig], environment: cleanEnvironment(["DRUM_MONITOR_INTERVAL": "5ms"]))
        #expect(bad.status == 1, "exit \(bad.status): \(bad.stdout)")
        #expect(bad.stderr.contains("DRUM_MONITOR_INTERVAL") && bad.stderr.contains("environment"), "\(bad.stderr)")
    }

    @Test func serveWithBadConfigExitsTwo() throws {
        let bin = try Locations.requireBinary()
        let dir = try TempDir()
        defer { dir.remove() }
        let path = try dir.write("bad.yaml", "interval: 1s\nretention: 1h\nbogus_setting: 3\n")
        let sock = dir.file("s.sock")
        let r = try run(bin, ["serve", "--config", path, "--socket", sock], environment: cleanEnvironment(), timeout: 60)
        #expect(r.status == 2, "exit \(r.status): \(r.stderr)")
        #expect(r.stderr.contains("\(path):3") && r.stderr.contains("bogus_setting"), "\(r.stderr)")
        #expect(access(sock, F_OK) != 0, "serve with a bad config created its socket")
    }
}
