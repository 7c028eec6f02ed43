/// One problem with the configuration, naming where it came from, the line and the key.
struct ConfigProblem: Error, CustomStringConvertible, Equatable {
    var source: String
    var line: Int?
    var key: String?
    var message: String

    var description: String {
        var where_ = source
        if let line { where_ += ":\(line)" }
        if let key { return "\(where_): key '\(key)': \(message)" }
        return "\(where_): \(message)"
    }
}

public struct ConfigErrors: Error, CustomStringConvertible {
    var problems: [ConfigProblem]
    public var description: String { lines.joined(separator: "\n") }
    /// One line per problem.
    public var lines: [String] { problems.map(\.description) }
}

/// Builds the configuration: defaults, then the YAML file, then DRUM_MONITOR_* variables, then
/// command-line flags; later layers win. Every problem in every layer is reported, not just the
/// first, and unknown keys are problems.
public struct ConfigLoader: Sendable {
    /// nil: no file (defaults + environment + flags). A missing file that was asked for is an error.
    var file: String?
    var fileRequired: Bool
    var environment: [String: String]
    var flags: [String: String]

    public static let configFileVariable = "DRUM_MONITOR_CONFIG"

    public init(file: String?, fileRequired: Bool, environment: [String: String], flags: [String: String]) {
        self.file = file
        self.fileRequired = fileRequired
        self.environment = environment
        self.flags = flags
    }

    public func load() throws(ConfigErrors) -> DaemonConfig {
        let (config, errors) = resolve()
        if let errors { throw errors }
        return config
    }

    /// The configuration every layer gives, with the problems found (nil: none). With problems,
    /// the settings that were valid still apply: serve uses its `log_format` to report them.
    public func resolve() -> (DaemonConfig, ConfigErrors?) {
        var config = DaemonConfig()
        var problems: [ConfigProblem] = []
        if let file { problems += applyFile(file, to: &config) }
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("DRUM_MONITOR_") {
            // Other DRUM_MONITOR_* variables (a tool's own, a typo) are reported by `warnings`.
            guard let key = Self.key(forVariable: name) else { continue }
            do { try key.apply(&config, value) } catch {
                problems.append(ConfigProblem(source: "environment", key: name, message: error.message))
            }
        }
        for (name, value) in flags.sorted(by: { $0.key < $1.key }) {
            guard let key = DaemonConfig.key(named: name) else {
                problems.append(ConfigProblem(source: "command line", key: name, message: "unknown setting"))
                continue
            }
            do { try key.apply(&config, value) } catch {
                problems.append(ConfigProblem(source: "command line", key: key.flag, message: error.message))
            }
        }
        if problems.isEmpty {
            problems += config.crossCheck().map { ConfigProblem(source: file ?? "configuration", message: $0) }
        }
        return (config, problems.isEmpty ? nil : ConfigErrors(problems: problems))
    }

    static var knownKeys: String { DaemonConfig.keys.map(\.name).joined(separator: ", ") }

    static func key(forVariable name: String) -> DaemonConfig.Key? {
        guard name.hasPrefix("DRUM_MONITOR_"), name != configFileVariable else { return nil }
        return DaemonConfig.key(named: String(name.dropFirst("DRUM_MONITOR_".count)).lowercased())
    }

    /// DRUM_MONITOR_* variables that set nothing: not errors (other tools use the prefix too),
    /// but worth a line in the log in case one is a misspelt setting.
    public var warnings: [String] {
        environment.keys.sorted().filter { $0.hasPrefix("DRUM_MONITOR_") && $0 != Self.configFileVariable && Self.key(forVariable: $0) == nil }
            .map { "ignoring environment variable \($0): not a setting (known: \(Self.knownKeys))" }
    }

    private func applyFile(_ path: String, to config: inout DaemonConfig) -> [ConfigProblem] {
        let text: String
        do {
            text = try readText(path)
        } catch {
            if !fileRequired, error.notFound { return [] }
            return [ConfigProblem(source: path, line: error.line, key: error.key, message: error.message)]
        }
        let root: YAMLNode?
        do {
            root = try YAMLDocument.parse(Array(text.utf8))
        } catch {
            return [ConfigProblem(source: path, line: error.line, key: error.line.flatMap { Self.key(onLine: $0, of: text) },
                                  message: "not valid YAML: \(error)")]
        }
        guard let root else { return [] } // an empty file: all defaults
        guard case .mapping(let mapping) = root.content else {
            return [ConfigProblem(source: path, line: root.line, message: "the top level must be a mapping of 'key: value' lines")]
        }
        var problems: [ConfigProblem] = []
        var seen = Set<String>()
        for (keyNode, valueNode) in mapping {
            let line = keyNode.line
            guard case .scalar(let name, _) = keyNode.content else {
                problems.append(ConfigProblem(source: path, line: line, message: "keys must be plain words"))
                continue
            }
            guard let key = DaemonConfig.key(named: name) else {
                problems.append(ConfigProblem(source: path, line: line, key: name, message: "unknown key (known: \(Self.knownKeys))"))
                continue
            }
            guard seen.insert(name).inserted else {
                problems.append(ConfigProblem(source: path, line: line, key: name, message: "given twice"))
                continue
            }
            if case .mapping(let entries) = valueNode.content, let applyPairs = key.applyPairs {
                var pairs: [(String, String)] = []
                for (k, v) in entries {
                    guard case .scalar(let label, _) = k.content, case .scalar(let text, _) = v.content else {
                        problems.append(ConfigProblem(source: path, line: k.line, key: name, message: "each entry must be 'name: value'"))
                        continue
                    }
                    pairs.append((label, text))
                }
                do { try applyPairs(&config, pairs) } catch {
                    problems.append(ConfigProblem(source: path, line: valueNode.line, key: name, message: error.message))
                }
                continue
            }
            guard case .scalar(let value, let plain) = valueNode.content else {
                let what = key.applyPairs == nil ? "a single value, not a list or mapping" : "a mapping of 'name: value' lines"
                problems.append(ConfigProblem(source: path, line: valueNode.line, key: name, message: "value must be \(what)"))
                continue
            }
            let isNull = plain && ["", "~", "null", "Null", "NULL"].contains(value)
            do { try key.apply(&config, isNull ? "" : value) } catch {
                problems.append(ConfigProblem(source: path, line: valueNode.line, key: name, message: error.message))
            }
        }
        return problems
    }

    /// The `key` of a `key: value` line, if the line looks like one.
    static func key(onLine line: Int, of text: String) -> String? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count, let colon = lines[line - 1].firstIndex(of: ":") else { return nil }
        let key = String(lines[line - 1][..<colon].drop { $0 == " " || $0 == "\t" })
        return key.isEmpty || key.hasPrefix("#") || key.contains(" ") ? nil : key
    }
}

struct FileReadError: Error {
    let message: String
    let notFound: Bool
    var line: Int? = nil
    var key: String? = nil
}

#if canImport(Glibc)
import Glibc
#endif

/// Reads a UTF-8 text file; invalid UTF-8 is an error naming the file.
func readText(_ path: String) throws(FileReadError) -> String {
    guard let f = fopen(path, "rb") else {
        let e = errno
        throw FileReadError(message: "cannot open: \(String(cString: strerror(e)))", notFound: e == ENOENT)
    }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n > 0 { bytes += chunk[0..<n] }
        if n < chunk.count { break }
        if bytes.count > 1 << 20 { throw FileReadError(message: "larger than 1 MiB; not a configuration file", notFound: false) }
    }
    if ferror(f) != 0 { throw FileReadError(message: "read error", notFound: false) }
    guard let text = String(validating: bytes, as: UTF8.self) else {
        // Name the line (and its key) holding the first byte that is not UTF-8.
        let valid = String(decoding: bytes, as: UTF8.self)
        var lineNumber = 1
        var key: String?
        for line in valid.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.contains("\u{FFFD}") {
                key = ConfigLoader.key(onLine: 1, of: String(line))
                break
            }
            lineNumber += 1
        }
        throw FileReadError(message: "not UTF-8 text", notFound: false, line: lineNumber, key: key)
    }
    return text
}
