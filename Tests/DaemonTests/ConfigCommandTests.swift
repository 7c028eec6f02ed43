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

    /// A YAML shape and exactly what check-config says about it (stderr; FILE stands for the
    /// path), or, for a valid file, lines the effective configuration must show.
    struct YAMLCase: Sendable, CustomStringConvertible {
        var name: String
        var text: String
        var stderr = ""
        var shows: [String] = []
        var description: String { name }
    }

    static let yamlCases: [YAMLCase] = [
        YAMLCase(name: "an alias is the value of its anchor", text: "interval: &i 2s\nretention: *i\n",
                 shows: ["interval: 2s", "retention: 2s"]),
        // The alias names the anchored node, so a bad value is reported on the anchor's line.
        YAMLCase(name: "a bad aliased value on the anchor's line", text: "socket_group: &g wheel\npidfile: *g\n",
                 stderr: "FILE:1: key 'pidfile': must be an absolute path, got 'wheel'\n"),
        YAMLCase(name: "an undefined alias", text: "interval: 1s\nretention: *nope\n",
                 stderr: "FILE:2: key 'retention': not valid YAML: found undefined alias\n"),
        YAMLCase(name: "a second document", text: "a: 1\n---\nb: 2\n",
                 stderr: "FILE:1: key 'a': not valid YAML: expected a single document in the stream: but found another document\n"),
        YAMLCase(name: "a top-level list", text: "- interval\n- retention\n",
                 stderr: "FILE:1: the top level must be a mapping of 'key: value' lines\n"),
        YAMLCase(name: "a mapping value, on its first line", text: "retention: 1h\ninterval:\n  a: 1\n",
                 stderr: "FILE:3: key 'interval': value must be a single value, not a list or mapping\n"),
        YAMLCase(name: "a mapping key", text: "interval: 1s\n? {a: 1}\n: 2\n", stderr: "FILE:2: keys must be plain words\n"),
        YAMLCase(name: "a key given twice", text: "interval: 1s\nretention: 1h\ninterval: 2s\n",
                 stderr: "FILE:3: key 'interval': given twice\n"),
        YAMLCase(name: "quoted null stays a string", text: "socket_group: \"null\"\n", shows: ["socket_group: null"]),
        YAMLCase(name: "plain null is unset", text: "socket_group: null\npidfile: ~\n", shows: ["socket_group:", "pidfile:"]),
        YAMLCase(name: "a null interval is empty", text: "interval: ~\n",
                 stderr: "FILE:1: key 'interval': must be a duration like 100ms, 1s, 5m, 1h; got ''\n"),
        YAMLCase(name: "an empty file is all defaults", text: "", shows: ["interval: 1s"]),
        YAMLCase(name: "only comments is all defaults", text: "# nothing\n", shows: ["interval: 1s"]),
        YAMLCase(name: "a tab that breaks indentation", text: "interval: 1s\n\tretention: 1h\n",
                 stderr: "FILE:1: key 'interval': not valid YAML: while scanning a plain scalar: found a tab character that violates indentation\n"),
        YAMLCase(name: "a control character", text: "interval: 1s\nsocket_group: a\u{1}b\n",
                 stderr: "FILE:2: key 'socket_group': not valid YAML: control characters are not allowed\n"),
        YAMLCase(name: "nesting deeper than 1000", text: "interval: " + String(repeating: "[", count: 2000) + "\n",
                 stderr: "FILE:1: key 'interval': not valid YAML: while parsing: Maximum nesting level reached, set with yaml_set_max_nest_level())\n"),
    ]

    @Test(arguments: yamlCases)
    func yamlShape(_ c: YAMLCase) throws {
        let bin = try Locations.requireBinary()
        let dir = try TempDir()
        defer { dir.remove() }
        let path = try dir.write("c.yaml", c.text)
        let r = try run(bin, ["check-config", path], environment: cleanEnvironment())
        #expect(r.status == (c.stderr.isEmpty ? 0 : 1), "exit \(r.status): \(r.stderr)")
        #expect(r.stderr == c.stderr.replacingOccurrences(of: "FILE", with: path))
        let shown = r.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        for line in c.shows { #expect(shown.contains(line), "no '\(line)' in:\n\(r.stdout)") }
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
