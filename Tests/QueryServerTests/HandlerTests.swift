import History
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import SampleModel
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif
@testable import QueryServer

/// The connection's handlers on an EmbeddedChannel, answers compared byte for byte (the way
/// swift-nio's HTTPServerProtocolErrorHandlerTest does). The socket itself: LiveSocketTests.
@Suite struct HandlerTests {
    static let notFound = "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 36\r\n"
        + "cache-control: no-store\r\n\r\n{\"error\":\"no such endpoint: /nope\"}\n"

    @Test func answersInOrderOnAKeptAliveConnection() throws {
        let c = try EmbeddedConnection()
        defer { c.finish() }
        try c.send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /nope?a=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try c.written() == Self.notFound + Self.notFound)
        #expect(c.channel.isActive)
    }

    @Test func headAnswersHeadersOnlyWithTheLengthOfGet() throws {
        let c = try EmbeddedConnection()
        defer { c.finish() }
        try c.send("HEAD /nope HTTP/1.1\r\n\r\n")
        #expect(try c.written() == "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 36\r\n"
            + "cache-control: no-store\r\n\r\n")
    }

    @Test func http10KeepsAliveOnlyWhenAsked() throws {
        let c = try EmbeddedConnection()
        defer { c.finish() }
        try c.send("GET /nope HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try c.written() == "HTTP/1.0 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 36\r\n"
            + "cache-control: no-store\r\nconnection: keep-alive\r\n\r\n{\"error\":\"no such endpoint: /nope\"}\n")
        try c.send("GET /nope HTTP/1.0\r\n\r\n")
        #expect(try c.written() == "HTTP/1.0 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 36\r\n"
            + "cache-control: no-store\r\nconnection: close\r\n\r\n{\"error\":\"no such endpoint: /nope\"}\n")
        #expect(!c.channel.isActive)
    }

    @Test func everyAnswerHasTheSameHeadersWhoeverWritesIt() throws {
        // Endpoint errors, the framer's refusals and the decoder's errors go through one writer.
        let c = try EmbeddedConnection()
        defer { c.finish() }
        try c.send("GET /v1/samples?limit=0 HTTP/1.1\r\n\r\n")
        #expect(try c.written() == "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 75\r\n"
            + "cache-control: no-store\r\n\r\n{\"error\":\"parameter 'limit' must be a whole number in 1...10000, got '0'\"}\n")
        try c.send("\u{16}\u{03}\u{01} not HTTP\r\n\r\n")
        let garbage = try c.written()
        #expect(garbage.hasPrefix("HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: "))
        #expect(garbage.contains("\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{\"error\":\"malformed HTTP request: "))
        #expect(!c.channel.isActive)
    }

    /// Issue 11 item 1: CONNECT gets a complete 405 and the connection is closed; the request
    /// sent after it is not left hanging, and nothing after it is kept.
    @Test func connectIsAnsweredCompletelyThenClosed() throws {
        let c = try EmbeddedConnection()
        defer { c.finish() }
        try c.send("CONNECT x:1 HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n" + String(repeating: "A", count: 8000) + "\r\n\r\n")
        #expect(try c.written() == "HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\ncontent-length: 58\r\n"
            + "cache-control: no-store\r\nconnection: close\r\n\r\n{\"error\":\"method CONNECT not allowed; only GET and HEAD\"}\n")
        #expect(!c.channel.isActive)
    }

    @Test func anUpgradeRequestGetsItsAnswerWithoutUpgradeThenTheConnectionCloses() throws {
        let c = try EmbeddedConnection()
        defer { c.finish() }
        try c.send("GET /nope HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /nope HTTP/1.1\r\n\r\n")
        #expect(try c.written() == "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 36\r\n"
            + "cache-control: no-store\r\nconnection: close\r\n\r\n{\"error\":\"no such endpoint: /nope\"}\n")
        #expect(!c.channel.isActive)
    }

    /// Issue 11 item 10: a body larger than the head limit is refused as a body (413), not as a
    /// head (431).
    @Test func aBodyLargerThanTheHeadLimitGets413() throws {
        for (framing, body) in [("Content-Length: 20000", String(repeating: "b", count: 20000)),
                                ("Transfer-Encoding: chunked", "4e20\r\n" + String(repeating: "b", count: 20000) + "\r\n0\r\n\r\n")] {
            let c = try EmbeddedConnection()
            defer { c.finish() }
            try c.send("GET /healthz HTTP/1.1\r\n\(framing)\r\n\r\n" + body)
            c.finish()
            #expect(try c.written() == "HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json\r\ncontent-length: 42\r\n"
                + "cache-control: no-store\r\nconnection: close\r\n\r\n{\"error\":\"requests must not have a body\"}\n", "\(framing)")
            #expect(!c.channel.isActive)
        }
    }

    @Test func aHeadOverTheLimitGets431AndOneAtTheLimitIsRead() throws {
        let limit = EmbeddedConnection.configuration.maxHeadBytes
        let request = "GET /nope HTTP/1.1\r\nX: "
        let exact = request + String(repeating: "a", count: limit - request.utf8.count - 4) + "\r\n\r\n"
        #expect(exact.utf8.count == limit)
        let fits = try EmbeddedConnection()
        defer { fits.finish() }
        try fits.send(exact)
        #expect(try fits.written() == Self.notFound)

        let over = try EmbeddedConnection()
        defer { over.finish() }
        // One byte at a time: the limit holds however the head arrives.
        for byte in Array((request + String(repeating: "a", count: limit)).utf8) where over.channel.isActive {
            try over.send([byte])
        }
        #expect(try over.written() == "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
            + "content-length: 48\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{\"error\":\"request head larger than 1024 bytes\"}\n")
        #expect(!over.channel.isActive)
    }

    @Test func aHeadSlowerThanTheHeadTimeoutGets408() throws {
        let c = try EmbeddedConnection()
        defer { c.finish() }
        try c.send("GET /nope HTTP/1.1\r\n")
        c.channel.embeddedEventLoop.advanceTime(by: .milliseconds(999))
        #expect(try c.written() == "")
        try c.send("X: 1\r\n")
        c.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(try c.written() == "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: 66\r\n"
            + "cache-control: no-store\r\nconnection: close\r\n\r\n{\"error\":\"request head not complete within 1s of its first byte\"}\n")
        #expect(!c.channel.isActive)
    }

    @Test func aCompleteHeadWaitingForTheSocketIsNotLate() throws {
        let c = try EmbeddedConnection()
        defer { c.finish() }
        try c.send("GET /nope HTTP/1.1\r\n")
        c.setWritable(false)
        try c.send("\r\n")
        c.channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(try c.written() == "")
        c.setWritable(true)
        #expect(try c.written() == Self.notFound)
        #expect(c.channel.isActive)
    }

    @Test func emptyLinesBetweenRequestsAreNotAHead() throws {
        let c = try EmbeddedConnection()
        defer { c.finish() }
        try c.send("\r\n\r\n\r\nGET /nope HTTP/1.1\r\n\r\n\r\n")
        c.channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(try c.written() == Self.notFound, "no 408 for the trailing empty line")
        #expect(c.channel.isActive)
    }

    /// Issue 11 item 2: nothing is answered, and nothing more read, while the socket does not take
    /// what was written; the requests already received wait, bounded.
    @Test func noAnswerAndNoReadWhileTheSocketIsFull() throws {
        let c = try EmbeddedConnection()
        defer { c.finish() }
        c.setWritable(false)
        let pipelined = String(repeating: "GET /nope HTTP/1.1\r\n\r\n", count: 100)
        try c.send(pipelined)
        #expect(try c.written() == "")
        let readsBefore = c.reads.count
        c.channel.read()
        #expect(c.reads.count == readsBefore, "a read() while replies are unsent is held")
        #expect(c.statistics.maxPendingBytes == pipelined.utf8.count)

        // Writable again (an EmbeddedChannel then stays writable): everything is answered, in order.
        c.setWritable(true)
        #expect(try c.written() == String(repeating: Self.notFound, count: 100))
        #expect(c.reads.count == readsBefore + 1, "the held read is issued once everything is answered")
    }

    @Test func theNextRequestWaitsForTheSlowAnswerBeforeIt() throws {
        let c = try EmbeddedConnection()
        defer { c.finish() }
        try c.send("GET /v1/samples?since=3 HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n")
        #expect(try c.written() == "", "the samples are built by the worker")
        #expect(c.waitingJobs == 1)
        c.runJobs()
        let body = "{\"truncated\":false,\"next_since\":5,\"fields\":[\"sequence\",\"time_unix_ns\",\"generation\","
            + Metric.allCases.map { "\"\($0.name)\"" }.joined(separator: ",") + "],\"samples\":["
            + [4, 5].map { i in
                "[\(i),\(Fixture.firstWallNanos + Int64(i) * 1_000_000_000),1,"
                    + Metric.allCases.map { m -> String in
                        switch m {
                        case .memoryCurrent: "\((100 + i) << 20)"
                        case .memoryLimit: "\(512 << 20)"
                        case .treeRSS: "\(64 << 20)"
                        case .processCount: "1"
                        default: "null"
                        }
                    }.joined(separator: ",") + "]"
            }.joined(separator: ",") + "]}\n"
        #expect(try c.written() == "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n"
            + "cache-control: no-store\r\n\r\n" + body + Self.notFound)
    }

    /// Issue 11 item 23: the answer of a client that left is not built.
    @Test func aSlowAnswerForAClosedConnectionIsNotBuilt() throws {
        let c = try EmbeddedConnection()
        defer { c.finish() }
        try c.send("GET /v1/samples?limit=10000 HTTP/1.1\r\n\r\n")
        try c.channel.close().wait()
        c.runJobs()
        #expect(c.statistics.slowAnswersBuilt == 0)
        #expect(c.statistics.slowAnswersAbandoned == 1)
    }

    @Test func afterAHalfCloseTheRequestsReceivedAreAnsweredThenTheConnectionCloses() throws {
        let c = try EmbeddedConnection()
        defer { c.finish() }
        try c.send("GET /v1/samples?since=5 HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n")
        c.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(c.channel.isActive)
        c.runJobs()
        let answers = try c.written()
        #expect(answers.hasPrefix("HTTP/1.1 200 OK\r\n") && answers.hasSuffix(Self.notFound))
        #expect(!c.channel.isActive)
    }

    @Test func busyAnswer() throws {
        let c = try EmbeddedConnection(busyLimit: 4)
        defer { c.finish() }
        try c.send("GET /healthz HTTP/1.1\r\n\r\n")
        #expect(try c.written() == "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 76\r\n"
            + "cache-control: no-store\r\nconnection: close\r\n\r\n"
            + "{\"error\":\"busy: all 4 query connections are answering requests; try again\"}\n")
        #expect(!c.channel.isActive)
    }

    /// Issue 13 item 5: `time_info` as DRUM has it.
    @Test func statsHasDrumsTimeInfo() throws {
        let response = Endpoints.respond(method: .GET, uri: "/stats/", context: QueryContext(history: Fixture.history()) { Cadence() })
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(text.hasSuffix(",\"time_info\":{\"run_predictor_total\":{\"avg\":null,\"max\":null,\"min\":null,\"total\":null}}}\n"))
    }
}

/// Issue 11 item 21: accept(2) failing for want of descriptors pauses accepting instead of
/// spinning, and says so once.
@Suite struct AcceptShortageTests {
    @Test func pausesAcceptingAndLogsOncePerShortage() throws {
        let log = CapturedLog()
        let pause = TimeAmount.milliseconds(ServerConfiguration.acceptPauseMilliseconds)
        let shortage = AcceptShortage(logger: log.logger(), pause: pause)
        let reads = EmbeddedConnection.ReadCounter()
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        let loop = channel.embeddedEventLoop
        try channel.pipeline.syncOperations.addHandler(reads)
        try channel.pipeline.syncOperations.addHandler(AcceptBackoffHandler(shouldForwardIOErrorCaught: false, backoffProvider: shortage.backoff))
        try channel.pipeline.syncOperations.addHandler(shortage)

        // NIO's handler sets its deadline by the real clock: it lies between these two.
        let earliest = NIODeadline.now() + pause
        for _ in 0..<100 {
            channel.pipeline.fireErrorCaught(IOError(errnoCode: EMFILE, reason: "accept"))
        }
        channel.read()
        let latest = NIODeadline.now() + pause
        #expect(reads.count == 0, "no accept until the pause is over")
        loop.advanceTime(to: earliest - .nanoseconds(1))
        #expect(reads.count == 0)
        loop.advanceTime(to: latest)
        #expect(reads.count == 1)
        #expect(log.messages.filter { $0.level == .error }.count == 1, "\(log.messages)")
        #expect(log.messages.first?.text.contains("Too many open files") == true, "\(log.messages)")

        // A connection accepted: said once; the next shortage is logged again.
        channel.pipeline.fireChannelRead(EmbeddedChannel())
        #expect(log.messages.filter { $0.text.contains("accepting query connections again (100 failed") }.count == 1)
        channel.pipeline.fireErrorCaught(IOError(errnoCode: ENFILE, reason: "accept"))
        #expect(log.messages.filter { $0.level == .error }.count == 2)
        // A client that gave up while queued is no shortage.
        channel.pipeline.fireErrorCaught(IOError(errnoCode: ECONNABORTED, reason: "accept"))
        #expect(log.messages.count == 3)
    }
}
