import Foundation
import History
import Logging
import NIOCore
import NIOPosix
import SampleModel
import Synchronization
import Testing
import TestSupport
@testable import QueryServer
@testable import Sampler

/// A real server on a real socket, fed by a real sampler at 50 ms (or, with `sampling: false`,
/// serving the fixture history). Use `LiveServer.with`, which awaits the server's shutdown
/// whatever the test does.
final class LiveServer: Sendable {
    let dir: String
    let socketPath: String
    let history: History
    let loop: SamplingLoop?
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let server: QueryServer
    let log = CapturedLog()
    let socketLost = SocketLostReports()

    final class SocketLostReports: Sendable {
        private let reasons = Mutex<[String]>([])
        func add(_ reason: String) { reasons.withLock { $0.append(reason) } }
        var all: [String] { reasons.withLock { $0 } }
    }

    private init(sampling: Bool, configure: (inout ServerConfiguration) -> Void) async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("dm-qs-\(UUID().uuidString.prefix(8))").path
        socketPath = dir + "/sub/q.sock" // the parent directory does not exist yet
        var cadence: @Sendable () -> Cadence = { Cadence() }
        if sampling {
            let history = History(capacity: 1000, intervalNanos: 50_000_000)
            let sampler = try Sampler(configuration: SamplerConfiguration(target: .pid(getpid())))
            let loop = SamplingLoop(sampler: sampler, intervalNanos: 50_000_000) { s, d in history.append(s, detail: d) }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in loop.start { c.resume() } }
            cadence = { loop.progress }
            self.history = history
            self.loop = loop
        } else {
            history = Fixture.history(samples: 1000, capacity: 1000)
            loop = nil
        }
        var config = ServerConfiguration(listen: .path(socketPath, mode: 0o660, group: nil))
        configure(&config)
        let reports = socketLost
        do {
            server = try await QueryServer.start(configuration: config, context: QueryContext(history: history, cadence: cadence),
                                                 group: group, logger: log.logger(), onSocketLost: { reports.add($0) })
        } catch {
            loop?.stop()
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Runs `body` against a new server, and stops the server (awaited) however `body` ends.
    static func with(sampling: Bool = true, _ configure: (inout ServerConfiguration) -> Void = { _ in },
                     _ body: (LiveServer) async throws -> Void) async throws {
        let live = try await LiveServer(sampling: sampling, configure: configure)
        do {
            try await body(live)
        } catch {
            await live.stop()
            throw error
        }
        await live.stop()
    }

    func stop() async {
        await server.close()
        loop?.stop()
        try? await group.shutdownGracefully()
        try? FileManager.default.removeItem(atPath: dir)
    }

    func client(timeout: Double = 5) throws -> RawClient { try RawClient(path: socketPath, receiveTimeout: timeout) }
}
