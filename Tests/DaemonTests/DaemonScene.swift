// Conveniences for daemon tests: a configuration file, polling the socket, JSON answers, and
// the usual scene (the binary, a directory, a process to watch).
import Foundation
import Testing
import TestSupport

/// A minimal configuration file, so a test never depends on /etc/drum-monitor/drum-monitor.yaml.
func writeConfig(_ dir: TempDir, _ text: String = "log_level: info\n", name: String = "config.yaml") throws -> String {
    try dir.write(name, text)
}

/// Polls GET `target` on `socket` until `accept` likes the answer (or `timeout` passes).
func pollHTTP(_ socket: String, _ target: String, timeout: Double = 30, every: Double = 0.05,
              _ accept: (HTTPAnswer) -> Bool = { $0.status == 200 }) -> HTTPAnswer? {
    poll(timeout: timeout, every: every) {
        guard let answer = try? HTTP.get(unix: socket, target, timeout: 5) else { return nil }
        return accept(answer) ? answer : nil
    }
}

/// The daemon is past its start-up: /healthz is 200 with at least two ticks, so the signal handlers
/// (installed after the first sample) are in place. Tests that are not about start-up races wait
/// for this before signalling.
func waitUntilServing(_ socket: String, timeout: Double = 60) -> HTTPAnswer? {
    pollHTTP(socket, "/healthz", timeout: timeout) { a in a.status == 200 && (a.json?.int("ticks") ?? 0) >= 2 }
}

func jsonObject(_ text: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return try #require(object as? [String: Any], "not a JSON object: \(text)")
}

extension Dictionary where Key == String, Value == Any {
    func object(_ key: String) -> [String: Any]? { self[key] as? [String: Any] }
    func int(_ key: String) -> Int? {
        if let v = self[key] as? Int { return v }
        if let v = self[key] as? Double, v == v.rounded() { return Int(v) }
        if let v = self[key] as? NSNumber { return v.intValue }
        return nil
    }
    func double(_ key: String) -> Double? {
        if let v = self[key] as? Double { return v }
        if let v = self[key] as? Int { return Double(v) }
        if let v = self[key] as? NSNumber { return v.doubleValue }
        return nil
    }
    func string(_ key: String) -> String? { self[key] as? String }
    func bool(_ key: String) -> Bool? {
        if let v = self[key] as? Bool { return v }
        if let v = self[key] as? NSNumber { return v.boolValue }
        return nil
    }
    func array(_ key: String) -> [[String: Any]]? { self[key] as? [[String: Any]] }
}

/// What most daemon tests start from: the binary, a temporary directory, a process to watch
/// and a socket path in that directory. `tearDown()` stops the process and removes the directory.
struct DaemonScene {
    let bin: String
    let dir: TempDir
    let sleeper: Spawned
    var socket: String { dir.file("s.sock") }

    init() throws {
        bin = try Locations.requireBinary()
        dir = try TempDir()
        do { sleeper = try Spawned.sleeper() } catch { dir.remove(); throw error }
    }

    func tearDown() {
        sleeper.stop()
        dir.remove()
    }
}
