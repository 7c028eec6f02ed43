// The resident-memory floor of drum-monitor's stack, for row 2 of `make bench`: the same
// libraries doing the least a daemon of this shape can do. ArgumentParser parses `serve
// --socket PATH`; SwiftNIO serves HTTP/1.1 on that Unix socket (200 "ok" to anything); a
// DispatchSourceTimer wakes every second and preads /proc/self/stat from a held descriptor;
// libsystemd says READY=1. Built like the daemon (static Swift runtime, release), so the
// difference in VmRSS is what drum-monitor's own code and data cost.
import ArgumentParser
import CSystemd
import Dispatch
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

final class OK: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        var head = HTTPResponseHead(version: .http1_1, status: .ok)
        head.headers.add(name: "Content-Length", value: "3")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "ok\n")))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

func startTimer() -> DispatchSourceTimer {
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
struct StackFloor: ParsableCommand {
    static let configuration = CommandConfiguration(subcommands: [Serve.self])

    struct Serve: ParsableCommand {
        @Option(help: "Unix socket path.") var socket: String

        func run() throws {
            unlink(socket)
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let channel = try ServerBootstrap(group: group)
                .childChannelInitializer { channel in
                    channel.pipeline.configureHTTPServerPipeline().flatMap { channel.pipeline.addHandler(OK()) }
                }
                .bind(unixDomainSocketPath: socket).wait()
            let timer = startTimer()
            _ = sd_notify(0, "READY=1")
            try channel.closeFuture.wait()
            timer.cancel()
        }
    }
}
