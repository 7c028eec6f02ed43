import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The HTTP/1.1 server on a Unix socket: bound to a path, or adopting systemd's listening fd.
public final class QueryServer: Sendable {
    public let configuration: ServerConfiguration
    private let channel: any Channel
    /// The socket file this server created, removed on close (never one systemd owns).
    private let ownedPath: String?

    private init(configuration: ServerConfiguration, channel: any Channel, ownedPath: String?) {
        self.configuration = configuration
        self.channel = channel
        self.ownedPath = ownedPath
    }

    public static func start(configuration: ServerConfiguration, context: QueryContext,
                             group: any EventLoopGroup, logger: Logger) async throws -> QueryServer {
        let limiter = ConnectionLimiter(limit: configuration.maxConnections)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.allowRemoteHalfClosure, value: false)
            .childChannelInitializer { channel in
                guard limiter.admit() else {
                    // Full: close at once rather than queue the client forever.
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in limiter.release() }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(RequestHeadGuard(maxHeadBytes: configuration.maxHeadBytes,
                                                         headTimeout: .nanoseconds(Int64(configuration.headTimeoutSeconds * 1e9))))
                    try sync.addHandler(IdleStateHandler(readTimeout: .nanoseconds(Int64(configuration.idleTimeoutSeconds * 1e9))))
                    try sync.addHandler(IdleCloser())
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: false)
                    try sync.addHandler(HTTPHandler(context: context))
                }
            }

        switch configuration.listen {
        case .path(let path, let mode, let group):
            try SocketFile.prepare(path)
            // Bind with no access for others until mode and group are set.
            let oldMask = umask(0o177)
            let channel: any Channel
            do {
                channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false).get()
                umask(oldMask)
            } catch {
                umask(oldMask)
                throw ServerStartError(description: "cannot listen on \(path): \(error)")
            }
            do {
                try SocketFile.applyPermissions(path, mode: mode, group: group)
            } catch {
                try? await channel.close()
                unlink(path)
                throw error
            }
            logger.info("listening on \(path) (mode \(String(mode, radix: 8)))")
            return QueryServer(configuration: configuration, channel: channel, ownedPath: path)
        case .inheritedDescriptor(let fd):
            let channel: any Channel
            do {
                channel = try await bootstrap.withBoundSocket(fd).get()
            } catch {
                throw ServerStartError(description: "cannot serve on inherited socket fd \(fd): \(error)")
            }
            logger.info("serving on socket fd \(fd) passed by systemd")
            return QueryServer(configuration: configuration, channel: channel, ownedPath: nil)
        }
    }

    /// Stops listening and removes the socket file if this server created it.
    public func close() async {
        try? await channel.close()
        if let ownedPath { unlink(ownedPath) }
    }
}
