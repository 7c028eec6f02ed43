import Foundation
import Logging
import NIOPosix
import SampleModel
import Testing
import TestSupport
import UnixSocket
@testable import QueryServer

#if canImport(Glibc)
import Glibc
#endif

/// The socket file: its mode, no start over a live socket, a stale one replaced, and what happens
/// when it is deleted or replaced under a running server (issue 11 item 22).
@Suite(.serialized) struct SocketFileTests {
    /// A socket bound at `path` by this test, listening when `listening`.
    static func bindSocket(_ path: String, listening: Bool) throws -> Int32 {
        let fd = try UnixSocketAddress.streamSocket()
        do {
            try UnixSocketAddress(path: path).bind(fd)
        } catch {
            close(fd)
            throw error
        }
        if listening { listen(fd, 8) }
        return fd
    }

    static func start(_ path: String, history: LiveServer, check: Double = 2,
                      onSocketLost: @escaping @Sendable (String) -> Void = { _ in }) async throws -> QueryServer {
        try await QueryServer.start(configuration: ServerConfiguration(listen: .path(path, mode: 0o600, group: nil), socketCheckSeconds: check),
                                    context: QueryContext(history: history.history) { Cadence() }, group: history.group,
                                    logger: Logger(label: "test"), onSocketLost: onSocketLost)
    }

    @Test func permissionsLiveAndStaleSocketsAndRegularFiles() async throws {
        try await LiveServer.with(sampling: false) { live in
            var st = stat()
            #expect(lstat(live.socketPath, &st) == 0)
            #expect(st.st_mode & 0o777 == 0o660)

            // A second server on the same path must refuse, and leave the first one working.
            await #expect(throws: ServerStartError.self) { _ = try await Self.start(live.socketPath, history: live) }
            #expect(try live.client().get("/healthz") != nil)

            // A stale socket file (nobody listening) is replaced; a regular file is not.
            let stale = live.dir + "/stale.sock"
            close(try Self.bindSocket(stale, listening: false))
            let second = try await Self.start(stale, history: live)
            #expect(lstat(stale, &st) == 0 && st.st_mode & 0o777 == 0o600)
            #expect(try RawClient(path: stale).get("/v1/snapshot")?.status == 200)
            await second.close()
            #expect(lstat(stale, &st) != 0, "the socket file is removed on close")

            let regular = live.dir + "/regular"
            try #require(FileManager.default.createFile(atPath: regular, contents: Data("x".utf8)))
            await #expect(throws: ServerStartError.self) { _ = try await Self.start(regular, history: live) }
            // The kernel's limit on a path, not NIO's (103 bytes).
            let long = live.dir + "/" + String(repeating: "s", count: UnixSocketAddress.maxPathBytes - live.dir.utf8.count - 1)
            #expect(long.utf8.count == 107)
            let longServer = try await Self.start(long, history: live)
            #expect(try RawClient(path: long).get("/healthz") != nil)
            await longServer.close()
            await #expect(throws: ServerStartError.self) { _ = try await Self.start(long + "x", history: live) }
        }
    }

    @Test func aDeletedSocketFileOrDirectoryIsBoundAgain() async throws {
        try await LiveServer.with(sampling: false, { $0.socketCheckSeconds = 0.05 }) { live in
            let kept = try live.client()
            #expect(kept.get("/healthz") != nil)
            unlink(live.socketPath)
            #expect(RealSystem.poll(seconds: 10) { (try? live.client().get("/healthz")) != nil }, "bound again")
            // Its directory too.
            try FileManager.default.removeItem(atPath: live.dir + "/sub")
            #expect(RealSystem.poll(seconds: 10) { (try? live.client().get("/healthz")) != nil }, "directory made and bound again")
            var st = stat()
            #expect(lstat(live.socketPath, &st) == 0 && st.st_mode & 0o777 == 0o660, "with its mode")
            #expect(kept.get("/healthz") != nil, "connections are kept")
            #expect(live.socketLost.all.isEmpty)
            #expect(live.log.messages.filter { $0.text.contains("was removed or replaced") }.count == 2)
        }
    }

    /// Replaced by another instance's live socket: the server cannot have the path back, says so
    /// (the daemon then exits non-zero), and on close leaves the other socket alone.
    @Test func aSocketFileTakenByAnotherListenerIsReportedAndNotRemoved() async throws {
        try await LiveServer.with(sampling: false, { $0.socketCheckSeconds = 0.05 }) { live in
            let other = try Self.bindSocket(live.socketPath + ".new", listening: true)
            defer { close(other) }
            #expect(rename(live.socketPath + ".new", live.socketPath) == 0)
            #expect(RealSystem.poll(seconds: 10) { !live.socketLost.all.isEmpty })
            #expect(live.socketLost.all.first?.contains("already listening") == true, "\(live.socketLost.all)")
            await live.server.close()
            var st = stat()
            #expect(lstat(live.socketPath, &st) == 0, "the other listener's socket file is still there")
            let probe = try UnixSocketAddress.streamSocket()
            defer { close(probe) }
            #expect((try? UnixSocketAddress(path: live.socketPath).connect(probe)) != nil, "and still takes connections")
        }
    }

    @Test func aSocketFileReplacedByARegularFileIsReported() async throws {
        try await LiveServer.with(sampling: false, { $0.socketCheckSeconds = 0.05 }) { live in
            #expect(FileManager.default.createFile(atPath: live.socketPath + ".new", contents: Data("x".utf8)))
            #expect(rename(live.socketPath + ".new", live.socketPath) == 0)
            #expect(RealSystem.poll(seconds: 10) { !live.socketLost.all.isEmpty })
            #expect(live.socketLost.all.first?.contains("is not a socket") == true, "\(live.socketLost.all)")
            await live.server.close()
            #expect(FileManager.default.contents(atPath: live.socketPath) == Data("x".utf8), "left alone")
        }
    }
}
