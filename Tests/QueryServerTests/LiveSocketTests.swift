import Foundation
import History
import Logging
import NIOCore
import NIOPosix
import SampleModel
import Synchronization
import Testing
import TestSupport
import UnixSocket
@testable import QueryServer

#if canImport(Glibc)
import Glibc
#endif

/// The server on a real Unix socket: what only the socket shows (the kernel's buffers, closes,
/// the socket file). Exact bytes of every answer: HandlerTests.
@Suite(.serialized) struct LiveSocketTests {
    @Test func endpointsAnswerWhatTheRingHolds() async throws {
        try await LiveServer.with { live in
            #expect(RealSystem.poll(seconds: 5) { live.history.count >= 5 })
            let c = try live.client()

            let health = try #require(c.get("/healthz"))
            #expect(health.status == 200)
            #expect(health.json?["status"] as? String == "ok")
            #expect((health.json?["ticks"] as? Int ?? 0) >= 5)

            let snap = try #require(c.get("/v1/snapshot")?.json)
            let target = try #require(snap["target"] as? [String: Any])
            #expect(target["root_pid"] as? Int == Int(getpid()))
            #expect(target["found"] as? Bool == true)
            let memory = try #require(snap["memory"] as? [String: Any])
            #expect((memory["current_bytes"] as? Double ?? 0) > 0)
            #expect(memory["pressure_some_avg10"] is NSNull || memory["pressure_some_avg10"] is Double, "absent is null, not 0")
            let procs = try #require(snap["processes"] as? [[String: Any]])
            #expect(procs.first?["pid"] as? Int == Int(getpid()))
            #expect((snap["sequence"] as? Int ?? 0) >= 5)
            #expect((snap["time"] as? String)?.hasSuffix("Z") == true)

            // A window over the samples held: compare with the ring itself, read before and after
            // (the ring may grow in between: its count and max can only rise).
            let before = live.history.window(.samples(1000))
            let windowJSON = try #require(c.get("/v1/window?samples=1000")?.json)
            let after = live.history.window(.samples(1000))
            let window = try #require(windowJSON["window"] as? [String: Any])
            #expect(window["covered"] as? Bool == false, "1000 samples reach back further than the history")
            let fields = try #require(windowJSON["fields"] as? [String: [String: Any]])
            let current = try #require(fields["memory_current_bytes"])
            let max = try #require(current["max"] as? Double)
            #expect((before[.memoryCurrent]?.max ?? .infinity) <= max && max <= (after[.memoryCurrent]?.max ?? 0))
            let count = try #require(current["count"] as? Int)
            #expect(before.sampleCount <= count && count <= after.sampleCount)
            #expect(current["max_time"] is String && current["max_sequence"] is Int)
            #expect(fields["tree_cpu_cores"] != nil && fields.count == Metric.count)

            #expect(try #require(c.get("/v1/window?seconds=60")).status == 200)
            #expect(try #require(c.get("/v1/window?seconds=5m")).status == 200)

            let samples = try #require(c.get("/v1/samples?since=2&limit=3")?.json)
            let rows = try #require(samples["samples"] as? [[Any]])
            #expect(rows.map { $0.first as? Int } == [3, 4, 5])
            #expect((samples["fields"] as? [String])?.first == "sequence")

            let stats = try #require(c.get("/stats/")?.json)
            let memInfo = try #require(stats["mem_info"] as? [String: Any])
            for key in ["total", "avail", "free", "drum_rss", "container_limit", "container_max_used", "container_used"] {
                #expect(memInfo[key] is Double, "mem_info.\(key)")
            }
            #expect((memInfo["avail"] as? Double ?? .infinity) <= (memInfo["total"] as? Double ?? 0), "no absurd avail")
            #expect((stats["drum_info"] as? [[String: Any]])?.first?["cmdline"] is [String])
            let timeInfo = try #require((stats["time_info"] as? [String: Any])?["run_predictor_total"] as? [String: Any])
            #expect(timeInfo.keys.sorted() == ["avg", "max", "min", "total"] && timeInfo.values.allSatisfy { $0 is NSNull })

            let metrics = try #require(c.get("/metrics"))
            #expect(metrics.status == 200)
            #expect(metrics.text.contains("# TYPE drum_monitor_memory_current_bytes gauge"))
            #expect(metrics.text.contains("drum_monitor_sampler_ticks_total "))
            #expect(!metrics.text.contains("_max{window="), "the windowed maxima are PromQL's max_over_time now")
        }
    }

    @Test func errorsAreJSONAndNameTheParameter() async throws {
        try await LiveServer.with(sampling: false) { live in
            let c = try live.client()
            let cases: [(String, Int, String)] = [
                ("/nope", 404, "no such endpoint"),
                ("/v1/window", 400, "'seconds' or 'samples'"),
                ("/v1/window?seconds=-3", 400, "'seconds'"),
                ("/v1/window?seconds=abc", 400, "'seconds'"),
                ("/v1/window?samples=0", 400, "'samples'"),
                ("/v1/window?seconds=1&samples=2", 400, "only one"),
                ("/v1/window?seconds=1&bogus=2", 400, "'bogus'"),
                ("/v1/samples?limit=100000", 400, "'limit'"),
                ("/v1/samples?since=x", 400, "'since'"),
                ("/healthz?x=1", 400, "'x'"),
            ]
            for (target, status, text) in cases {
                let answer = try #require(c.get(target), "\(target)")
                #expect(answer.status == status, "\(target)")
                let message = answer.json?["error"] as? String ?? ""
                #expect(message.contains(text), "\(target): \(message)")
                #expect(answer.headers["content-type"] == "application/json")
            }
            c.send("DELETE /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            let delete = try #require(c.receiveResponse())
            #expect(delete.status == 405 && delete.json?["error"] != nil)
        }
    }

    @Test func hostileClientsDoNotHurtTheServerOrTheSampler() async throws {
        try await LiveServer.with({ config in
            config.maxConnections = 40
            config.idleTimeoutSeconds = 1
            config.headTimeoutSeconds = 1
            config.maxHeadBytes = 8192
        }) { live in
            let loop = try #require(live.loop)
            let ticksBefore = loop.progress.ticks

            // Oversized head: 431, then closed.
            let big = try live.client()
            big.send("GET /healthz HTTP/1.1\r\nx-filler: " + String(repeating: "a", count: 9000) + "\r\n\r\n")
            let bigAnswer = big.receive()
            #expect(String(decoding: bigAnswer.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 431"))
            #expect(bigAnswer.closed)

            // A body: 413.
            let body = try live.client()
            body.send("GET /healthz HTTP/1.1\r\ncontent-length: 5\r\n\r\nhello")
            let bodyAnswer = try #require(body.receiveResponse())
            #expect(bodyAnswer.status == 413 && bodyAnswer.json?["error"] != nil)

            // A malformed request line, a TLS hello and every byte value: 400 in JSON, then closed.
            let tlsHello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]
            for garbage in [Array("GARBAGE\r\n\r\n".utf8), tlsHello + (0...255).map(UInt8.init) + [13, 10, 13, 10]] {
                let g = try live.client()
                g.send(garbage)
                let answer = g.receive()
                let parsed = HTTPAnswer.parse(answer.bytes)
                #expect(parsed?.status == 400, "got \(String(decoding: answer.bytes.prefix(60), as: UTF8.self))")
                #expect((parsed?.json?["error"] as? String)?.hasPrefix("malformed HTTP request") == true)
                #expect(answer.closed)
            }

            // Silent client: closed after the idle timeout (1 s here).
            let silent = try live.client(timeout: 10)
            let silentAnswer = silent.receive()
            #expect(silentAnswer.closed && silentAnswer.bytes.isEmpty)

            // One byte at a time, slower than the head timeout allows: 408 and closed.
            let slow = try live.client(timeout: 10)
            var slowAnswer: (bytes: [UInt8], closed: Bool) = ([], false)
            for byte in Array("GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n".utf8) {
                if !slow.send([byte]) { break }
                var pfd = pollfd(fd: slow.fd, events: Int16(POLLIN), revents: 0)
                if poll(&pfd, 1, 300) > 0 { slowAnswer = slow.receive(); break }
            }
            #expect(String(decoding: slowAnswer.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 408"))

            // The table full of idle connections: a new client is answered, in place of the
            // connection idle longest (the first), which is closed.
            var held: [RawClient] = []
            for _ in 0..<40 {
                let c = try live.client()
                #expect(c.get("/healthz")?.status == 200)
                held.append(c)
            }
            #expect(live.server.table.count == 40)
            let extra = try live.client(timeout: 5)
            #expect(extra.get("/healthz")?.status == 200, "a new client is served when the table is full of idle ones")
            #expect(held[0].receive().closed, "the connection idle longest made room")
            #expect(held[1].get("/healthz")?.status == 200, "the others are untouched")
            #expect(live.server.statistics.connectionsEvicted == 1)
            held.removeAll()

            // After all that: still answering, and the sampler still sampling.
            #expect(try live.client().get("/healthz")?.status == 200)
            #expect(RealSystem.poll(seconds: 5) { loop.progress.ticks > ticksBefore + 1 })
        }
    }

    @Test func concurrentKeepAliveClientsWhileSampling() async throws {
        try await LiveServer.with { live in
            final class Counts: Sendable {
                let failures = Mutex(0)
                let answered = Mutex(0)
            }
            let counts = Counts()
            await withTaskGroup(of: Void.self) { group in
                for i in 0..<32 {
                    group.addTask {
                        guard let c = try? live.client() else { counts.failures.withLock { $0 += 1 }; return }
                        for j in 0..<20 {
                            let target = ["/healthz", "/v1/snapshot", "/v1/window?seconds=10", "/stats/", "/v1/samples?limit=5"][(i + j) % 5]
                            if let a = c.get(target), a.status == 200, a.json != nil {
                                counts.answered.withLock { $0 += 1 }
                            } else {
                                counts.failures.withLock { $0 += 1 }
                            }
                        }
                    }
                }
            }
            #expect(counts.failures.withLock { $0 } == 0)
            #expect(counts.answered.withLock { $0 } == 32 * 20, "every request on 32 reused connections answered")
        }
    }

    // MARK: Issue 11 item 1: CONNECT and upgrades

    @Test func afterConnectOrAnUpgradeNothingMoreIsRead() async throws {
        try await LiveServer.with(sampling: false) { live in
            let requests = ["CONNECT x:1 HTTP/1.1\r\nHost: x\r\n\r\n",
                            "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"]
            for request in requests {
                let c = try live.client()
                c.send(request + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                let answer = c.receive()
                let parsed = try #require(HTTPAnswer.parse(answer.bytes), "\(request)")
                #expect([405, 404].contains(parsed.status) && parsed.json?["error"] != nil, "\(request)")
                #expect(parsed.headers["content-length"] == String(parsed.body.count), "a complete answer: \(request)")
                #expect(parsed.headers["connection"] == "close")
                #expect(answer.closed, "then closed, not left hanging: \(request)")
                // What the client sends next is refused at once: the server keeps none of it.
                let block = Array((String(repeating: "A", count: 8000) + "\r\n\r\n").utf8)
                var accepted = 0
                while accepted < 64 << 20, c.send(block) { accepted += block.count }
                #expect(accepted < 64 << 20, "\(request)")
            }
            #expect(live.server.statistics.maxPendingBytes <= live.server.configuration.maxHeadBytes + ServerConfiguration.readChunkBytes)
        }
    }

    // MARK: Issue 11 item 2: backpressure

    /// 500 pipelined requests from a client that does not read: the server stops reading and
    /// answering once its write buffer is full, holding at most the limits' worth, and answers
    /// everything once the client reads.
    @Test func aClientThatDoesNotReadHoldsBoundedMemory() async throws {
        try await LiveServer.with(sampling: false) { live in
            let probe = try live.client()
            probe.send("GET /v1/samples?limit=200 HTTP/1.1\r\nHost: x\r\n\r\n")
            let replySize = probe.receive { HTTPAnswer.parse($0) != nil }.bytes.count
            let c = try live.client(timeout: 30)
            let count = 500
            #expect(c.send(String(repeating: "GET /v1/samples?limit=200 HTTP/1.1\r\nHost: x\r\n\r\n", count: count)))
            let stats = live.server.statistics
            // The kernel's buffers fill first, then the server's own: it holds back from there.
            #expect(RealSystem.poll(seconds: 30) { stats.maxUnsentBytes >= ServerConfiguration.writeHighWatermark },
                    "the scene never filled the write buffer (unsent at most \(stats.maxUnsentBytes) bytes)")
            var received = 0
            var tail: [UInt8] = []
            while received < count * replySize {
                let (bytes, closed) = c.receive { _ in true }
                if bytes.isEmpty || closed { break }
                received += bytes.count
                tail = Array((tail + bytes).suffix(64))
            }
            #expect(received == count * replySize, "all \(count) answers once the client reads")
            #expect(String(decoding: tail, as: UTF8.self).hasSuffix("]]}\n"))
            #expect(stats.maxUnsentBytes <= ServerConfiguration.writeHighWatermark + replySize,
                    "unsent: \(stats.maxUnsentBytes) bytes; bound \(ServerConfiguration.writeHighWatermark) + one answer (\(replySize))")
            #expect(stats.maxPendingBytes <= live.server.configuration.maxHeadBytes + ServerConfiguration.readChunkBytes,
                    "request bytes held: \(stats.maxPendingBytes)")
        }
    }

    // MARK: Issue 11 item 8: a full table

    @Test func whenEveryConnectionIsBeingAnsweredANewOneIsToldBusy() async throws {
        try await LiveServer.with(sampling: false, { $0.maxConnections = 2 }) { live in
            live.server.worker.suspend()
            var resumed = false
            defer { if !resumed { live.server.worker.resume() } }
            let answering = try (0..<2).map { _ in try live.client() }
            for c in answering { c.send("GET /v1/samples HTTP/1.1\r\nHost: x\r\n\r\n") }
            #expect(RealSystem.poll(seconds: 10) { live.server.table.answering == 2 })
            let late = try live.client()
            let busy = try #require(late.get("/healthz"))
            #expect(busy.status == 503)
            #expect((busy.json?["error"] as? String)?.hasPrefix("busy:") == true, "\(busy.text)")
            #expect(busy.headers["connection"] == "close" && late.receive().closed)
            live.server.worker.resume()
            resumed = true
            for c in answering { #expect(c.receiveResponse()?.status == 200) }
        }
    }

    // MARK: Issue 11 item 23: work for clients that left

    /// 50 large queries wait for the worker (held): /healthz is answered meanwhile. Their
    /// clients leave; released, the worker builds none of their answers.
    @Test func healthIsAnsweredBeforeWaitingLargeQueriesWhichAreDroppedWhenTheirClientsLeave() async throws {
        try await LiveServer.with { live in
            live.server.worker.suspend()
            var resumed = false
            defer { if !resumed { live.server.worker.resume() } }
            var storm = try (0..<50).map { _ in try live.client() }
            for c in storm { c.send("GET /v1/samples?since=0&limit=10000 HTTP/1.1\r\nHost: x\r\n\r\n") }
            #expect(RealSystem.poll(seconds: 10) { live.server.table.answering == 50 })
            #expect(try live.client().get("/healthz")?.status == 200, "health answered while 50 large queries wait")
            storm.removeAll()
            #expect(RealSystem.poll(seconds: 10) { live.server.table.count == 0 }, "every client's leaving noticed")
            live.server.worker.resume()
            resumed = true
            #expect(RealSystem.poll(seconds: 10) { live.server.statistics.slowAnswersAbandoned == 50 })
            #expect(live.server.statistics.slowAnswersBuilt == 0)
        }
    }
}
