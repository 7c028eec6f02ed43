import History
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import SampleModel
import Synchronization
@testable import QueryServer

/// One connection's handlers (`ConnectionPipeline`) on an EmbeddedChannel: bytes in, bytes out,
/// time advanced by hand, slow answers built when the test says so.
final class EmbeddedConnection {
    let channel = EmbeddedChannel()
    let statistics = ServerStatistics()
    let reads = ReadCounter()
    private let jobs = Jobs()

    /// Reads requested of the socket (by NIO's autoRead, or by the test).
    final class ReadCounter: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = NIOAny
        var count = 0
        func read(context: ChannelHandlerContext) {
            count += 1
            context.read()
        }
    }

    final class Jobs: Sendable {
        let waiting = Mutex<[QueryWorker.Job]>([])
    }

    static let configuration = ServerConfiguration(listen: .inheritedDescriptor(-1), idleTimeoutSeconds: 30,
                                                   headTimeoutSeconds: 1, maxHeadBytes: 1024)

    init(_ configuration: ServerConfiguration = EmbeddedConnection.configuration, history: History = Fixture.history(),
         busyLimit: Int? = nil) throws {
        let jobs = self.jobs
        let worker = QueryWorker(statistics: statistics) { job in jobs.waiting.withLock { $0.append(job) } }
        let answer: any ChannelHandler = busyLimit.map { BusyAnswer(limit: $0) }
            ?? RequestHandler(queries: QueryContext(history: history) { Cadence() }, worker: worker)
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(reads)
        try ConnectionPipeline.add(to: sync, configuration, answer: answer, slot: nil, statistics: statistics)
        try channel.connect(to: SocketAddress(unixDomainSocketPath: "/embedded")).wait()
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        try channel.writeInbound(channel.allocator.buffer(bytes: bytes))
    }

    /// Everything written to the socket since the last call, as text.
    func written() throws -> String {
        var out = ""
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            out += buffer.readString(length: buffer.readableBytes) ?? ""
        }
        return out
    }

    var waitingJobs: Int { jobs.waiting.withLock { $0.count } }

    /// Runs the slow answers waiting for the worker, oldest first.
    func runJobs() {
        let waiting = jobs.waiting.withLock { jobs in
            defer { jobs.removeAll() }
            return jobs
        }
        for job in waiting { job() }
        channel.embeddedEventLoop.run()
    }

    func setWritable(_ writable: Bool) {
        channel.isWritable = writable
        channel.pipeline.fireChannelWritabilityChanged()
    }

    func finish() {
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }
}
