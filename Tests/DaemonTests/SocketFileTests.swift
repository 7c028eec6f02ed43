// The query socket's file: no second daemon over a live one, stale files replaced, permissions.
import Foundation
import Testing
import UnixSocket

#if canImport(Glibc)
import Glibc
#endif

@Suite("socket file")
struct SocketFileTests {
    func startDaemon(_ bin: String, _ dir: TempDir, socket: String, pid: Int32, extra: [String] = []) throws -> Spawned {
        let config = try writeConfig(dir)
        return try Spawned(bin, ["serve", "--config", config, "--socket", socket, "--interval", "100ms", "--pid", "\(pid)"] + extra)
    }

    @Test func refusesToStartOverALiveDaemon() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let (bin, dir, sleeper, sock) = (scene.bin, scene.dir, scene.sleeper, scene.socket)

        let first = try startDaemon(bin, dir, socket: sock, pid: sleeper.pid)
        defer { first.stop() }
        try #require(waitUntilServing(sock) != nil, "first daemon never served: \(first.description)")

        let second = try startDaemon(bin, dir, socket: sock, pid: sleeper.pid)
        defer { second.stop() }
        let status = second.waitForExit(timeout: 30)
        #expect(status != nil && status != 0, "second daemon on the same socket: \(status.map(String.init) ?? "still running")")
        #expect(second.stderr.contains("already listening"), "stderr: \(second.stderr)")
        // The first one is unharmed: its socket file is still there and answers.
        #expect((try? HTTP.get(unix: sock, "/healthz").status) != nil, "first daemon stopped answering: \(first.description)")

        first.signal(SIGTERM)
        #expect(first.waitForExit(timeout: 30) == 0, "\(first.description)")
    }

    @Test func replacesAStaleSocketFile() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let (bin, dir, sleeper, sock) = (scene.bin, scene.dir, scene.sleeper, scene.socket)

        // Bound, then the binding process "died": the file stays, nobody listens.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        try UnixSocketAddress(path: sock).bind(fd)
        var before = stat()
        try #require(lstat(sock, &before) == 0 && (before.st_mode & S_IFMT) == S_IFSOCK)
        #expect(throws: HTTPError.self, "the stale socket should refuse connections") { _ = try HTTP.get(unix: sock, "/healthz") }

        let daemon = try startDaemon(bin, dir, socket: sock, pid: sleeper.pid)
        defer { daemon.stop() }
        let answer = waitUntilServing(sock)
        #expect(answer?.status == 200, "no /healthz over the replaced socket: \(daemon.description)")
        var after = stat()
        #expect(lstat(sock, &after) == 0 && (after.st_mode & S_IFMT) == S_IFSOCK, "no socket file after replacing the stale one")
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
    }

    @Test(arguments: [(nil, 0o660), ("0600", 0o600)] as [(String?, Int)])
    func socketFileMode(_ flag: String?, _ expected: Int) throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let (bin, dir, sleeper, sock) = (scene.bin, scene.dir, scene.sleeper, scene.socket)
        let daemon = try startDaemon(bin, dir, socket: sock, pid: sleeper.pid, extra: flag.map { ["--socket-mode", $0] } ?? [])
        defer { daemon.stop() }
        try #require(waitUntilServing(sock) != nil, "daemon never served: \(daemon.description)")
        var st = stat()
        try #require(lstat(sock, &st) == 0)
        #expect(Int(st.st_mode & 0o7777) == expected, "mode \(String(st.st_mode & 0o7777, radix: 8)), expected \(String(expected, radix: 8))")
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
    }
}
