// `drum-monitor check-config` and `serve` with a bad configuration, as processes: exit codes,
// stdout and stderr, the environment. The loader's messages are tested in-process in
// DaemonCoreTests.
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

    /// The command's side of a bad file (what the file says is tested in-process, in
    /// DaemonCoreTests' ConfigLoaderTests): exit 1, the problem on stderr naming FILE:LINE and
    /// the key, no "OK".
    @Test func badFileExitsOne() throws {
        let bin = try Locations.requireBinary()
        let dir = try TempDir()
        defer { dir.remove() }
        let path = try dir.write("bad.yaml", "interval: 1s\nretention: 1h\nbogus_setting: 3\n")
        let r = try run(bin, ["check-config", path], environment: cleanEnvironment())
        #expect(r.status == 1, "exit \(r.status): \(r.stderr)")
        #expect(r.stderr.hasPrefix("\(path):3: key 'bogus_setting': unknown key"), "\(r.stderr)")
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

    /// Every key of the shipped file is also a flag of serve (`match` among them), and
    /// check-config lists it among the effective settings.
    @Test func everyKeyIsAFlagOfServe() throws {
        let bin = try Locations.requireBinary()
        let keys = (readWholeFile(Locations.exampleConfig) ?? "").split(separator: "\n").compactMap { line -> String? in
            guard let colon = line.firstIndex(of: ":"), line.first?.isLetter == true else { return nil }
            return String(line[..<colon])
        }
        #expect(keys.contains("match") && keys.count > 20, "\(keys)")
        let help = try run(bin, ["serve", "--help"], environment: cleanEnvironment()).stdout
        let settings = try run(bin, ["check-config", Locations.exampleConfig], environment: cleanEnvironment()).stdout
        for key in keys {
            #expect(help.contains("--\(key.replacingOccurrences(of: "_", with: "-")) <"), "serve --help has no flag for \(key)")
            #expect(settings.contains("\n  \(key): ") || settings.contains("\n  \(key):\n"), "check-config does not show \(key)")
        }
    }
}
