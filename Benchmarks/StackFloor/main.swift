// The floor of drum-monitor's stack, for `make bench`: the same libraries and the same query
// server doing the least a daemon of this shape can do. ArgumentParser parses `serve --socket
// PATH`; the query server's own bootstrap and connection pipeline (QueryServer.startConstant:
// Sources/QueryServer/ConnectionPipeline.swift) serve HTTP/1.1 on that Unix socket, answering
// `GET /N` with a constant body of N bytes (anything else: "ok\n") instead of the API; a
// DispatchSourceTimer wakes every second and preads /proc/self/stat from a held descriptor;
// libsystemd says READY=1. Built like the daemon (static Swift runtime, release, the same link
// flags), so its VmRSS is the floor of row 2, and the query rows compare each endpoint with a
// constant body of the same size served through the same pipeline: what the endpoint's own work
// costs.
import ArgumentParser
import CSystemd
import Dispatch
import Logging
import NIOCore
import NIOPosix
import QueryServer

#if canImport(Glibc)
import Glibc
#endif

/// `/N`: N bytes (a JSON string ending in a newline when N ≥ 3); anything else "ok\n".
@Sendable func constantBody(_ uri: String) -> Response {
    guard uri.hasPrefix("/"), let n = Int(uri.dropFirst()), n >= 3, n <= 1 << 20 else {
        return Response(status: .ok, contentType: "text/plain", body: Array("ok\n".utf8))
    }
    var body = [UInt8](repeating: UInt8(ascii: "x"), count: n)
    body[0] = UInt8(ascii: "\"")
    body[n - 2] = UInt8(ascii: "\"")
    body[n - 1] = 0x0A
    return Response(status: .ok, contentType: "application/json", body: body)
}

func startTimer() -> any DispatchSourceTimer {
    let fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC)
    let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "sampler"))
    timer.schedule(deadline: .now(), repeating: .seconds(1))
    timer.setEventHandler {
        var buffer = (0..<512).map { _ in UInt8(0) }
        _ = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
    }
    timer.resume()
    return timer
}

@main
struct StackFloor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(subcommands: [Serve.self])

    struct Serve: AsyncParsableCommand {
        @Option(help: "Unix socket path.") var socket: String

        func run() async throws {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let server = try await QueryServer.startConstant(
                configuration: ServerConfiguration(listen: .path(socket, mode: 0o660, group: nil)),
                group: group, logger: Logger(label: "drum-monitor-stack-floor"), respond: constantBody)
            let timer = startTimer()
            _ = sd_notify(0, "READY=1")
            // Serves until killed (SIGTERM's default action ends it).
            while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
            timer.cancel()
            await server.close()
            try await group.shutdownGracefully()
        }
    }
}
