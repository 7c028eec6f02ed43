// The configuration layers in-process: the YAML file's shapes and what the loader says about
// each (the text check-config prints), naming the file, the line and the key.
import Foundation
import Testing
@testable import DaemonCore

@Suite struct ConfigLoaderTests {
    /// A file in a fresh temporary directory, removed with it.
    final class ConfigFile {
        let directory: URL
        let path: String

        init(_ bytes: [UInt8]) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("dmc-\(UInt32.random(in: 0...UInt32.max))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
            path = directory.appendingPathComponent("c.yaml").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }

        convenience init(_ text: String) throws { try self.init(Array(text.utf8)) }

        deinit { try? FileManager.default.removeItem(at: directory) }

        /// What loading it says: the effective settings, or the problems as check-config prints them.
        func load(environment: [String: String] = [:]) -> Result<DaemonConfig, ConfigErrors> {
            Result { () throws(ConfigErrors) in
                try ConfigLoader(file: path, fileRequired: true, environment: environment, flags: [:]).load()
            }
        }
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
        // Issue 11 item 11: Double(_:) read hex floats; decimal numbers and durations only.
        BadFile(name: "a hex interval on line 1", bytes: Array("interval: 0x10\n".utf8), line: 1, key: "interval"),
        BadFile(name: "a hex duration number on line 2", bytes: Array("interval: 1s\nretention: 0x10h\n".utf8), line: 2, key: "retention"),
        BadFile(name: "a signed count on line 1", bytes: Array("max_connections: +5\n".utf8), line: 1, key: "max_connections"),
        // Issue 11 item 9: SwiftNIO binds at most 103 bytes (the kernel 107); 104-107 passed the check.
        BadFile(name: "a 108-byte socket path on line 2", bytes: Array("interval: 1s\nsocket: /\(String(repeating: "s", count: 107))\n".utf8), line: 2, key: "socket"),
        // Issue 11 item 12: the group must exist, or serve fails at start.
        BadFile(name: "a socket group that does not exist on line 1", bytes: Array("socket_group: nosuchgroup-\(UInt32.random(in: 0...UInt32.max))\n".utf8), line: 1, key: "socket_group"),
        BadFile(name: "not UTF-8 on line 2", bytes: Array("interval: 1s\nsocket_group: \"".utf8) + [0xff, 0xfe] + Array("\"\n".utf8), line: 2, key: "socket_group"),
    ]

    /// The problem names the file, the line (FILE:LINE) and, where there is one, the key.
    @Test(arguments: badFiles)
    func badFileIsRejected(_ bad: BadFile) throws {
        let file = try ConfigFile(bad.bytes)
        guard case .failure(let errors) = file.load() else {
            Issue.record("\(bad.name) was accepted")
            return
        }
        let text = "\(errors)"
        #expect(text.hasPrefix("\(file.path):\(bad.line)"), "does not name \(file.path):\(bad.line): \(text)")
        if let key = bad.key { #expect(text.contains(key), "does not name the key \(key): \(text)") }
    }

    /// A YAML shape and exactly what the loader says about it (FILE stands for the path), or, for
    /// a valid file, lines the effective configuration must show.
    struct YAMLCase: Sendable, CustomStringConvertible {
        var name: String
        var text: String
        var error = ""
        var shows: [String] = []
        var description: String { name }
    }

    static let yamlCases: [YAMLCase] = [
        YAMLCase(name: "an alias is the value of its anchor", text: "interval: &i 2s\nretention: *i\n",
                 shows: ["interval: 2s", "retention: 2s"]),
        // The alias names the anchored node, so a bad value is reported on the anchor's line.
        YAMLCase(name: "a bad aliased value on the anchor's line", text: "socket_group: &g root\npidfile: *g\n",
                 error: "FILE:1: key 'pidfile': must be an absolute path, got 'root'"),
        YAMLCase(name: "an undefined alias", text: "interval: 1s\nretention: *nope\n",
                 error: "FILE:2: key 'retention': not valid YAML: found undefined alias"),
        YAMLCase(name: "a second document", text: "a: 1\n---\nb: 2\n",
                 error: "FILE:1: key 'a': not valid YAML: expected a single document in the stream: but found another document"),
        YAMLCase(name: "a top-level list", text: "- interval\n- retention\n",
                 error: "FILE:1: the top level must be a mapping of 'key: value' lines"),
        YAMLCase(name: "a mapping value, on its first line", text: "retention: 1h\ninterval:\n  a: 1\n",
                 error: "FILE:3: key 'interval': value must be a single value, not a list or mapping"),
        YAMLCase(name: "a mapping key", text: "interval: 1s\n? {a: 1}\n: 2\n", error: "FILE:2: keys must be plain words"),
        YAMLCase(name: "a key given twice", text: "interval: 1s\nretention: 1h\ninterval: 2s\n",
                 error: "FILE:3: key 'interval': given twice"),
        YAMLCase(name: "quoted null stays a string", text: "pidfile: \"null\"\n",
                 error: "FILE:1: key 'pidfile': must be an absolute path, got 'null'"),
        YAMLCase(name: "plain null is unset", text: "socket_group: null\npidfile: ~\n", shows: ["socket_group: ", "pidfile: "]),
        YAMLCase(name: "a null interval is empty", text: "interval: ~\n",
                 error: "FILE:1: key 'interval': must be a duration like 100ms, 1s, 5m, 1h; got ''"),
        YAMLCase(name: "an empty file is all defaults", text: "", shows: ["interval: 1s"]),
        YAMLCase(name: "only comments is all defaults", text: "# nothing\n", shows: ["interval: 1s"]),
        YAMLCase(name: "a tab that breaks indentation", text: "interval: 1s\n\tretention: 1h\n",
                 error: "FILE:1: key 'interval': not valid YAML: while scanning a plain scalar: found a tab character that violates indentation"),
        YAMLCase(name: "a control character", text: "interval: 1s\nsocket_group: a\u{1}b\n",
                 error: "FILE:2: key 'socket_group': not valid YAML: control characters are not allowed"),
        // Issue 17: labels are a mapping; metrics_listen an IP literal and a port; textfile a .prom file.
        YAMLCase(name: "labels as a block mapping", text: "labels:\n  deployment: fraud-v2\n  model: \"xgb, v3\"\n",
                 shows: ["labels: deployment=fraud-v2,model=xgb, v3"]),
        YAMLCase(name: "labels as a flow mapping", text: "labels: {team: ml}\n", shows: ["labels: team=ml"]),
        YAMLCase(name: "no labels", text: "labels: {}\n", shows: ["labels: "]),
        YAMLCase(name: "a label name Prometheus refuses", text: "labels:\n  2fast: x\n",
                 error: "FILE:2: key 'labels': label name '2fast' is not a Prometheus label name (letters, digits and _, not starting with a digit)"),
        YAMLCase(name: "a label name /metrics uses itself", text: "labels:\n  role: x\n",
                 error: "FILE:2: key 'labels': label name 'role' is one /metrics uses itself (cgroup, cgroup_version, generation, instance, job, kind, mlops_deployment_id, mlops_model_id, mode, revision, role, root_pid, source, version)"),
        YAMLCase(name: "a reserved label name", text: "labels: {__name__: x}\n",
                 error: "FILE:1: key 'labels': label name '__name__': names starting with __ are reserved by Prometheus"),
        YAMLCase(name: "a label list", text: "labels: [a, b]\n", error: "FILE:1: key 'labels': value must be a mapping of 'name: value' lines"),
        YAMLCase(name: "a nested label value", text: "labels:\n  a: {b: c}\n", error: "FILE:2: key 'labels': each entry must be 'name: value'"),
        YAMLCase(name: "metrics_listen on IPv4 loopback", text: "metrics_listen: 127.0.0.1:10042\n", shows: ["metrics_listen: 127.0.0.1:10042"]),
        YAMLCase(name: "metrics_listen on IPv6 loopback", text: "metrics_listen: \"[::1]:9999\"\n", shows: ["metrics_listen: [::1]:9999"]),
        YAMLCase(name: "metrics_listen off", text: "metrics_listen: \"\"\n", shows: ["metrics_listen: "]),
        YAMLCase(name: "metrics_listen by host name", text: "metrics_listen: localhost:10042\n",
                 error: "FILE:1: key 'metrics_listen': must be an IP address and a port, like 127.0.0.1:10042 or [::1]:10042 (empty: no TCP listener); got 'localhost:10042'"),
        YAMLCase(name: "metrics_listen without a port", text: "metrics_listen: 127.0.0.1\n",
                 error: "FILE:1: key 'metrics_listen': must be an IP address and a port, like 127.0.0.1:10042 or [::1]:10042 (empty: no TCP listener); got '127.0.0.1'"),
        YAMLCase(name: "metrics_listen port 0", text: "metrics_listen: 127.0.0.1:0\n",
                 error: "FILE:1: key 'metrics_listen': must be an IP address and a port, like 127.0.0.1:10042 or [::1]:10042 (empty: no TCP listener); got '127.0.0.1:0'"),
        YAMLCase(name: "a textfile node_exporter would not read", text: "textfile: /var/lib/prometheus/node-exporter/drum.txt\n",
                 error: "FILE:1: key 'textfile': must name a file ending in .prom (node_exporter's textfile collector reads only those); got '/var/lib/prometheus/node-exporter/drum.txt'"),
        YAMLCase(name: "a textfile and its interval", text: "textfile: /var/lib/prometheus/node-exporter/drum-monitor.prom\ntextfile_interval: 30s\n",
                 shows: ["textfile: /var/lib/prometheus/node-exporter/drum-monitor.prom", "textfile_interval: 30s"]),
        YAMLCase(name: "a textfile interval below a second", text: "textfile_interval: 100ms\n",
                 error: "FILE:1: key 'textfile_interval': must be at least 1s, got '100ms'"),
        YAMLCase(name: "nesting deeper than 1000", text: "interval: " + String(repeating: "[", count: 2000) + "\n",
                 error: "FILE:1: key 'interval': not valid YAML: while parsing: Maximum nesting level reached, set with yaml_set_max_nest_level())"),
    ]

    @Test(arguments: yamlCases)
    func yamlShape(_ c: YAMLCase) throws {
        let file = try ConfigFile(c.text)
        switch file.load() {
        case .success(let config):
            #expect(c.error.isEmpty, "accepted; expected: \(c.error)")
            for line in c.shows { #expect(config.effectiveSettings.contains(line), "no '\(line)' in \(config.effectiveSettings)") }
        case .failure(let errors):
            #expect("\(errors)" == c.error.replacingOccurrences(of: "FILE", with: file.path))
        }
    }

    /// Issue 11 items 7 and 26: a history that cannot be allocated is refused, with what it would
    /// need (it passed check-config and serve was OOM-killed).
    @Test(arguments: ["interval: 19.71s\nretention: 87600h\n", "interval: 10ms\nretention: 24h\n"])
    func historyLargerThanTheBoundIsRefused(_ text: String) throws {
        let file = try ConfigFile(text)
        guard case .failure(let errors) = file.load() else {
            Issue.record("accepted: \(text)")
            return
        }
        let message = "\(errors)"
        #expect(message.contains("max_history_bytes"), "\(message)")
        #expect(message.contains("GiB"), "does not say how much it would need: \(message)")
    }

    @Test(arguments: [("256M", 256 << 20), ("1G", 1 << 30), ("1.5GiB", 3 << 29), ("2097152", 2 << 20), ("512KiB", nil), ("1GB", nil),
                      ("-1G", nil), ("0x10M", nil), ("1e9", nil), ("2T", nil), ("", nil)] as [(String, Int?)])
    func historyBoundIsASize(_ text: String, _ bytes: Int?) throws {
        // A small event ring: the smallest bound (2M) is to hold the default retention's samples.
        let file = try ConfigFile("max_history_bytes: \"\(text)\"\nevent_ring_size: 10\n")
        switch file.load() {
        case .success(let config): #expect(config.maxHistoryBytes == bytes, "\(text)")
        case .failure(let errors):
            #expect(bytes == nil, "\(text): \(errors)")
            #expect("\(errors)".contains("key 'max_history_bytes': must be a size from 1M to 1T"), "\(errors)")
        }
    }

    /// The default bound holds the shortest interval for the default retention.
    @Test func defaultBoundHoldsTenMillisecondsForAnHour() throws {
        let config = try ConfigFile("interval: 10ms\n").load().get()
        #expect(config.historyBytes <= config.maxHistoryBytes)
        #expect(config.effectiveSettings.contains("max_history_bytes: 256M"))
    }

    /// A socket every local user may write works, with a warning; the default does not warn.
    /// Environment and flags take labels as name=value pairs.
    @Test func labelsFromTheEnvironment() throws {
        let config = try ConfigLoader(file: nil, fileRequired: false, environment: ["DRUM_MONITOR_LABELS": "team=ml,deployment=a=b"],
                                      flags: [:]).load()
        #expect(config.labels == [MetricLabel(name: "team", value: "ml"), MetricLabel(name: "deployment", value: "a=b")])
        #expect(throws: ConfigErrors.self) {
            try ConfigLoader(file: nil, fileRequired: false, environment: [:], flags: ["labels": "team"]).load()
        }
    }

    @Test func aMetricsListenerBeyondLoopbackIsWarnedAbout() throws {
        let open = try ConfigLoader(file: nil, fileRequired: false, environment: [:], flags: ["metrics_listen": "0.0.0.0:10042"]).load()
        #expect(open.warnings.contains { $0.hasPrefix("metrics_listen 0.0.0.0:10042 is not a loopback address") })
        let loopback = try ConfigLoader(file: nil, fileRequired: false, environment: [:], flags: ["metrics_listen": "127.0.0.1:10042"]).load()
        #expect(loopback.warnings.isEmpty)
    }

    @Test func worldWritableSocketIsWarnedAbout() throws {
        #expect(try ConfigFile("socket_mode: \"0666\"\n").load().get().warnings
                == ["socket_mode 0666 lets every local user query the daemon and take its connections; 0660 with socket_group limits it to a group"])
        #expect(try ConfigFile("socket_mode: \"0664\"\n").load().get().warnings.isEmpty)
        #expect(try ConfigFile("").load().get().warnings.isEmpty)
    }

    @Test func pidMustBePositive() throws {
        guard case .failure(let e) = try ConfigFile("pid: -5\n").load() else { Issue.record("pid -5 accepted"); return }
        #expect("\(e)".hasSuffix("key 'pid': must be a positive whole number (a pid), or 0 to discover DRUM; got '-5'"), "\(e)")
    }

    /// Every key's --help text shows its default as check-config prints it.
    @Test func optionHelpShowsTheDefault() {
        for key in DaemonConfig.keys {
            let shown = key.show(DaemonConfig())
            #expect(DaemonConfig.optionHelp(key.name).hasSuffix("(default: \(shown.isEmpty ? "none" : shown))"), "\(key.name)")
        }
    }

    /// log_format: text or json.
    @Test func logFormat() throws {
        #expect(try ConfigFile("log_format: json\n").load().get().logFormat == .json)
        #expect(try ConfigFile("").load().get().logFormat == .text)
        guard case .failure(let e) = try ConfigFile("log_format: yaml\n").load() else { Issue.record("yaml accepted"); return }
        #expect("\(e)".hasSuffix("key 'log_format': must be text or json; got 'yaml'"))
    }

    /// Environment variables override the file; a bad value names the variable and its layer.
    @Test func environmentOverridesTheFile() throws {
        let file = try ConfigFile("interval: 1s\n")
        let config = try file.load(environment: ["DRUM_MONITOR_INTERVAL": "250ms"]).get()
        #expect(config.effectiveSettings.contains("interval: 250ms"))
        guard case .failure(let errors) = file.load(environment: ["DRUM_MONITOR_INTERVAL": "5ms"]) else {
            Issue.record("DRUM_MONITOR_INTERVAL=5ms was accepted")
            return
        }
        #expect("\(errors)" == "environment: key 'DRUM_MONITOR_INTERVAL': must be at least 10ms, got '5ms'")
    }

    /// `match` (issue 16): the file's plain YAML, the environment, the flag; the target it gives.
    @Test func matchFromEveryLayer() throws {
        let file = try ConfigFile("match: --address 0.0.0.0:8081\n")
        let config = try file.load().get()
        #expect(config.target == .matching(.commandLine("--address 0.0.0.0:8081")))
        #expect(config.effectiveSettings.contains("match: --address 0.0.0.0:8081"))
        let env = try file.load(environment: ["DRUM_MONITOR_MATCH": "env:MODEL_INSTANCE=b"]).get()
        #expect(env.target == .matching(.environment(name: "MODEL_INSTANCE", value: "b")))
        #expect(env.effectiveSettings.contains("match: env:MODEL_INSTANCE=b"))
        let flag = try ConfigLoader(file: file.path, fileRequired: true, environment: [:], flags: ["match": "argv:PORT=1"]).load()
        #expect(flag.target == .matching(.commandLine("PORT=1")))
        #expect(flag.effectiveSettings.contains("match: argv:PORT=1"))
        #expect(try file.load(environment: ["DRUM_MONITOR_MATCH": ""]).get().target == .discover, "empty: any DRUM")
        #expect(try ConfigFile("match:\n").load().get().target == .discover)
    }

    @Test func matchProblemsNameTheKey() throws {
        func problems(_ text: String) throws -> String {
            guard case .failure(let e) = try ConfigFile(text).load() else { return "accepted" }
            return "\(e)"
        }
        #expect(try problems("match: PORT=8081\n").hasSuffix(
            "key 'match': 'PORT=8081' reads as an environment variable or as command-line text: write env:PORT=8081 to match the environment, or argv:PORT=8081 to match the command line"))
        #expect(try problems("match: env:8=x\n").contains(":1: key 'match': env: must be followed by NAME=VALUE"))
        #expect(try problems("match: --address a\npid: 42\n").hasSuffix(
            "'match' (--address a) chooses among the DRUM servers discovery finds; it cannot be combined with 'pid', which names the process itself: set one of them"))
        #expect(try problems("match: --address a\npidfile: /run/drum.pid\n").contains("it cannot be combined with 'pidfile'"))
        #expect(try problems("match: env:A=b\nread_environment: false\n").hasSuffix(
            "'match' (env:A=b) compares the environment, which 'read_environment: false' leaves unread"))
        #expect(try problems("match: --address a\nread_environment: false\n") == "accepted",
                "a command line is read without the environment")
    }
}
