import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TestSupport
@testable import History
@testable import QueryServer
import SampleModel
@testable import Sampler

/// A real server on a real socket, fed by a real sampler at 50 ms.
final class LiveServer: @unchecked Sendable {
    let dir: String
    let socketPath: String
    let history: History
    let loop: SamplingLoop
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    var server: QueryServer?

    init(configure: (inout ServerConfiguration) -> Void = { _ in }) async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("dm-qs-\(UUID().uuidString.prefix(8))").path
        socketPath = dir + "/sub/q.sock" // the parent directory does not exist yet
        history = History(capacity: 1000, intervalNanos: 50_000_000)
        let sampler = try Sampler(configuration: SamplerConfiguration(target: .pid(getpid())))
        let history = self.history
        loop = SamplingLoop(sampler: sampler, intervalNanos: 50_000_000) { s, d in history.append(s, detail: d) }
        let samplingLoop = loop
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in samplingLoop.start { c.resume() } }
        var config = ServerConfiguration(listen: .path(socketPath, mode: 0o660, group: nil))
        configure(&config)
        server = try await QueryServer.start(configuration: config, context: QueryContext(history: history) { samplingLoop.progress },
                                             group: group, logger: Logger(label: "test"))
    }

    func stop() async {
        await server?.close()
        loop.stop()
        try? await group.shutdownGracefully()
        try? FileManager.default.removeItem(atPath: dir)
    }

    func client(timeout: Double = 5) throws -> RawClient { try RawClient(path: socketPath, receiveTimeout: timeout) }
}

@Suite(.serialized) struct QueryServerTests {
    @Test func endpointsAnswerWhatTheRingHolds() async throws {
        let live = try await LiveServer()
        defer { Task { await live.stop() } }
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

        // A window over the samples held: compare with the ring itself.
        let windowJSON = try #require(c.get("/v1/window?samples=1000")?.json)
        let ring = live.history.window(.samples(1000))
        let window = try #require(windowJSON["window"] as? [String: Any])
        #expect(window["covered"] as? Bool == false, "1000 samples reach back further than the history")
        let fields = try #require(windowJSON["fields"] as? [String: [String: Any]])
        let current = try #require(fields["memory_current_bytes"])
        // The ring may have grown between the two reads: its max can only have risen.
        #expect((current["max"] as? Double ?? .infinity) <= (live.history.window(.samples(1000))[.memoryCurrent]?.max ?? 0))
        #expect((current["count"] as? Int ?? 0) >= ring.sampleCount - 2)
        #expect(current["max_time"] is String && current["max_sequence"] is Int)
        #expect(fields["tree_cpu_cores"] != nil && fields.count == Metric.count)

        let byTime = try #require(c.get("/v1/window?seconds=60"))
        #expect(byTime.status == 200)
        #expect(try #require(c.get("/v1/window?seconds=5m")).status == 200)

        let samples = try #require(c.get("/v1/samples?since=2&limit=3")?.json)
        let rows = try #require(samples["samples"] as? [[Any]])
        #expect(rows.count == 3)
        #expect(rows.first?.first as? Int == 3)
        #expect((samples["fields"] as? [String])?.first == "sequence")

        let stats = try #require(c.get("/stats/")?.json)
        let memInfo = try #require(stats["mem_info"] as? [String: Any])
        for key in ["total", "avail", "free", "drum_rss", "container_limit", "container_max_used", "container_used"] {
            #expect(memInfo[key] is Double, "mem_info.\(key)")
        }
        #expect((memInfo["avail"] as? Double ?? .infinity) <= (memInfo["total"] as? Double ?? 0), "no absurd avail")
        #expect((stats["drum_info"] as? [[String: Any]])?.first?["cmdline"] is [String])
        #expect(stats["time_info"] is [String: Any])

        let metrics = try #require(c.get("/metrics"))
        #expect(metrics.status == 200)
        #expect(metrics.text.contains("# TYPE drum_monitor_memory_current_bytes gauge"))
        #expect(metrics.text.contains("drum_monitor_memory_current_bytes_max{window=\"1m\"}"))

        // HEAD: headers only.
        c.send("HEAD /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        let head = try #require(c.receive { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") }.bytes)
        #expect(String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        #expect(!String(decoding: head, as: UTF8.self).contains("{"))
    }

    @Test func errorsAreJSONAndNameTheParameter() async throws {
        let live = try await LiveServer()
        defer { Task { await live.stop() } }
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

    @Test func hostileClientsDoNotHurtTheServerOrTheSampler() async throws {
        let live = try await LiveServer { config in
            config.maxConnections = 40
            config.idleTimeoutSeconds = 1
            config.headTimeoutSeconds = 1
            config.maxHeadBytes = 8192
        }
        defer { Task { await live.stop() } }
        let ticksBefore = live.loop.progress

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

        // Malformed request line and binary garbage: 400 in JSON, then closed.
        for garbage in [Array("GARBAGE\r\n\r\n".utf8), (0..<512).map { _ in UInt8.random(in: 0...255) } + [13, 10, 13, 10]] {
            let g = try live.client()
            g.send(garbage)
            let answer = g.receive()
            let text = String(decoding: answer.bytes, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 400") || answer.bytes.isEmpty, "got \(text.prefix(60))")
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

        // More connections than the limit: the extra ones are closed, not queued.
        var held: [RawClient] = []
        for _ in 0..<40 { held.append(try live.client()) }
        #expect(RealSystem.poll(seconds: 5) { held.allSatisfy { _ in true } })
        let extra = try live.client(timeout: 5)
        let extraAnswer = extra.receive()
        #expect(extraAnswer.closed && extraAnswer.bytes.isEmpty, "connection over the limit must be closed")
        held.removeAll()

        // After all that: still answering, and the sampler kept its cadence.
        let after = try #require(RealSystem.poll(seconds: 5) { (try? live.client().get("/healthz")?.status) == 200 } ? true : nil)
        #expect(after)
        let progress = live.loop.progress
        #expect(progress.ticks > ticksBefore.ticks)
        #expect(progress.missedTicks == ticksBefore.missedTicks, "no ticks missed while clients misbehaved")
    }

    @Test func concurrentKeepAliveClientsWhileSampling() async throws {
        let live = try await LiveServer()
        defer { Task { await live.stop() } }
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
                        let target = ["/healthz", "/v1/snapshot", "/v1/window?seconds=10", "/stats/"][(i + j) % 4]
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

    @Test func socketFilePermissionsAndRefusingALiveSocket() async throws {
        let live = try await LiveServer()
        defer { Task { await live.stop() } }
        var st = stat()
        #expect(lstat(live.socketPath, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o660)

        // A second server on the same path must refuse, and leave the first one working.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { Task { try? await group.shutdownGracefully() } }
        let context = QueryContext(history: live.history) { Cadence() }
        await #expect(throws: ServerStartError.self) {
            _ = try await QueryServer.start(configuration: ServerConfiguration(listen: .path(live.socketPath, mode: 0o600, group: nil)),
                                            context: context, group: group, logger: Logger(label: "t"))
        }
        #expect(try live.client().get("/healthz")?.status == 200)

        // A stale socket file (nobody listening) is replaced; a regular file is not.
        let stale = live.dir + "/stale.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in stale.utf8.enumerated() { raw[i] = b } }
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(fd)
        let second = try await QueryServer.start(configuration: ServerConfiguration(listen: .path(stale, mode: 0o600, group: nil)),
                                                 context: context, group: group, logger: Logger(label: "t"))
        #expect(lstat(stale, &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(try RawClient(path: stale).get("/v1/snapshot")?.status == 200)
        await second.close()
        #expect(lstat(stale, &st) != 0, "the socket file is removed on close")

        let regular = live.dir + "/regular"
        try #require(FileManager.default.createFile(atPath: regular, contents: Data("x".utf8)))
        await #expect(throws: ServerStartError.self) {
            _ = try await QueryServer.start(configuration: ServerConfiguration(listen: .path(regular, mode: 0o600, group: nil)),
                                            context: context, group: group, logger: Logger(label: "t"))
        }
    }
}
