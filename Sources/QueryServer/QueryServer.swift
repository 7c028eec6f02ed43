import Logging
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The HTTP/1.1 server on a Unix socket: bound to a path, or adopting systemd's listening fd.
///
/// A socket file it bound is checked every `socketCheckSeconds`: if the path is gone or leads to
/// another file, the server binds it again (history and connections are kept); if it cannot (the
/// directory cannot be made, another process listens there, something that is not a socket is
/// there), it calls `onSocketLost` with the reason, and the daemon exits non-zero so that systemd
/// restarts it (issue 11 item 22). On close it removes the socket file only if it is still its own.
public final class QueryServer: Sendable {
    public let configuration: ServerConfiguration
    let statistics: ServerStatistics
    let worker: QueryWorker
    let table: ConnectionTable
    /// Makes the handler that answers a connection's requests (given the server's query worker).
    typealias Answer = @Sendable (QueryWorker) -> any ChannelHandler
    private let answer: Answer
    private let group: any EventLoopGroup
    private let logger: Logger
    private let onSocketLost: @Sendable (String) -> Void

    private struct Listener: Sendable {
        var channel: any Channel
        /// The socket file this server created (nil for one systemd passed).
        var bound: SocketFile.Bound?
    }
    private let listener = Mutex<Listener?>(nil)
    private let watch = Mutex<Task<Void, Never>?>(nil)

    private init(configuration: ServerConfiguration, group: any EventLoopGroup, logger: Logger,
                 onSocketLost: @escaping @Sendable (String) -> Void, answer: @escaping Answer) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.onSocketLost = onSocketLost
        self.answer = answer
        statistics = ServerStatistics()
        worker = QueryWorker(statistics: statistics)
        table = ConnectionTable(limit: configuration.maxConnections, busyLimit: ServerConfiguration.busyConnections,
                                statistics: statistics)
    }

    public static func start(configuration: ServerConfiguration, context: QueryContext, group: any EventLoopGroup,
                             logger: Logger, onSocketLost: @escaping @Sendable (String) -> Void = { _ in }) async throws -> QueryServer {
        let role = configuration.role
        let server = QueryServer(configuration: configuration, group: group, logger: logger, onSocketLost: onSocketLost) { worker in
            RequestHandler(queries: context, worker: worker, role: role)
        }
        try await server.startListening()
        return server
    }

    /// A server on the same bootstrap and connection pipeline that answers every request with
    /// `respond(request target)` instead of the API: the floor `make bench` measures the query
    /// server against (Benchmarks/StackFloor), so that the difference is what the endpoints cost.
    public static func startConstant(configuration: ServerConfiguration, group: any EventLoopGroup, logger: Logger,
                                     respond: @escaping @Sendable (String) -> Response) async throws -> QueryServer {
        let server = QueryServer(configuration: configuration, group: group, logger: logger, onSocketLost: { _ in }) { _ in
            ConstantAnswer(respond: respond)
        }
        try await server.startListening()
        return server
    }

    private func startListening() async throws {
        switch configuration.listen {
        case .path(let path, let mode, let socketGroup):
            try await bind(path, mode: mode, group: socketGroup)
            logger.info("listening on \(path) (mode \(String(mode, radix: 8)))")
            watchSocketFile(mode: mode, group: socketGroup)
        case .inheritedDescriptor(let fd):
            let channel: any Channel
            do {
                channel = try await bootstrap().withBoundSocket(fd).get()
            } catch {
                throw ServerStartError(description: "cannot serve on inherited socket fd \(fd): \(error)")
            }
            Self.setBacklog(fd)
            listener.withLock { $0 = Listener(channel: channel, bound: nil) }
            logger.info("serving \(what) on socket fd \(fd) passed by systemd")
        case .tcp(let host, let port):
            let channel: any Channel
            do {
                channel = try await bootstrap()
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .serverChannelOption(.backlog, value: ServerConfiguration.listenBacklog)
                    .bind(host: host, port: port).get()
            } catch {
                throw ServerStartError(description: "cannot listen on \(TCPAddressText.format(host: host, port: port)) for \(what): \(error)")
            }
            listener.withLock { $0 = Listener(channel: channel, bound: nil) }
            let bound = channel.localAddress.flatMap { a in a.port.map { TCPAddressText.format(host: host, port: $0) } }
            logger.info("serving \(what) on \(bound ?? TCPAddressText.format(host: host, port: port))")
        }
    }

    private var what: String { configuration.role == .metrics ? "/metrics and /healthz" : "queries" }

    /// The port a TCP listener is bound to (port 0 asks the kernel for one): for tests.
    public var boundPort: Int? { listener.withLock { $0?.channel.localAddress?.port } }

    /// Binds `path` and serves on it; a listener already there (the path was lost) is closed.
    private func bind(_ path: String, mode: mode_t, group: String?) async throws {
        let bound = try SocketFile.bind(path, mode: mode, group: group)
        let channel: any Channel
        do {
            channel = try await bootstrap().withBoundSocket(bound.descriptor).get()
        } catch {
            SocketFile.removeIfOurs(bound)
            throw ServerStartError(description: "cannot listen on \(path): \(error)")
        }
        Self.setBacklog(bound.descriptor)
        let previous = listener.withLock { current in
            defer { current = Listener(channel: channel, bound: bound) }
            return current
        }
        try? await previous?.channel.close()
    }

    /// NIO listens on an adopted socket with a backlog of 128 (its `.backlog` option only applies
    /// to sockets it binds); listening again sets ours, so that a burst of clients is queued.
    private static func setBacklog(_ fd: Int32) {
        _ = listen(fd, ServerConfiguration.listenBacklog)
    }

    private func watchSocketFile(mode: mode_t, group: String?) {
        let period = UInt64(configuration.socketCheckSeconds * 1e9)
        let task = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: period)
                guard !Task.isCancelled, let bound = listener.withLock({ $0?.bound }) else { return }
                if SocketFile.identity(of: bound.path) == bound.identity { continue }
                logger.warning("the socket file \(bound.path) was removed or replaced; binding it again")
                do {
                    try await bind(bound.path, mode: mode, group: group)
                    logger.notice("listening on \(bound.path) again")
                } catch {
                    let reason = "lost the socket file \(bound.path) and cannot bind it again: \(error)"
                    logger.critical("\(reason)")
                    onSocketLost(reason)
                    return
                }
            }
        }
        watch.withLock { $0 = task }
    }

    private func bootstrap() -> ServerBootstrap {
        let configuration = configuration, answer = answer, logger = logger
        let table = table, worker = worker, statistics = statistics
        return ServerBootstrap(group: group)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let shortage = AcceptShortage(logger: logger, pause: .milliseconds(ServerConfiguration.acceptPauseMilliseconds))
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(AcceptBackoffHandler(shouldForwardIOErrorCaught: false, backoffProvider: shortage.backoff))
                    try sync.addHandler(shortage)
                }
            }
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(
                minimum: 64, initial: 2048, maximum: ServerConfiguration.readChunkBytes))
            .childChannelOption(.writeBufferWaterMark, value: .init(low: ServerConfiguration.writeLowWatermark,
                                                                   high: ServerConfiguration.writeHighWatermark))
            .childChannelInitializer { channel in
                let admission = table.admit(channel)
                switch admission {
                case .refused:
                    return channel.close()
                case .busy:
                    channel.closeFuture.whenComplete { _ in table.releaseBusy() }
                case .admitted(let slot):
                    channel.closeFuture.whenComplete { _ in table.release(slot) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    switch admission {
                    case .admitted(let slot):
                        try ConnectionPipeline.add(to: sync, configuration,
                                                   answer: answer(worker),
                                                   slot: slot, statistics: statistics)
                    default:
                        try ConnectionPipeline.add(to: sync, configuration, answer: BusyAnswer(limit: table.limit),
                                                   slot: nil, statistics: statistics)
                    }
                }
            }
    }

    /// Stops listening and removes the socket file if this server created it and it is still there.
    public func close() async {
        let task = watch.withLock { current in
            defer { current = nil }
            return current
        }
        task?.cancel()
        await task?.value
        let current = listener.withLock { current in
            defer { current = nil }
            return current
        }
        try? await current?.channel.close()
        if let bound = current?.bound { SocketFile.removeIfOurs(bound) }
    }
}
