#if canImport(Glibc)
import Glibc
#endif

/// Where and how the query server listens, and the limits it enforces on clients.
public struct ServerConfiguration: Sendable {
    public enum Listen: Sendable, Equatable {
        /// Create (or replace a stale) socket file at this path.
        case path(String, mode: mode_t, group: String?)
        /// Serve on an already-listening socket handed over by systemd.
        case inheritedDescriptor(Int32)
        /// Bind a TCP address (the metrics listener outside systemd): an IP literal and a port.
        case tcp(host: String, port: Int)
    }

    public var listen: Listen
    /// What the listener answers: the whole API, or only /metrics and /healthz.
    public var role: ServerRole = .query
    /// Open connections; when full, a new one replaces the longest-idle one, or is told "busy".
    public var maxConnections: Int
    /// A connection with nothing read or written for this long is closed.
    public var idleTimeoutSeconds: Double
    /// A request head that takes longer than this to arrive (a trickling client) gets 408.
    public var headTimeoutSeconds: Double
    /// Request heads larger than this get 431.
    public var maxHeadBytes: Int
    /// How often the socket file is checked (bound by this server: re-bound if it is gone).
    public var socketCheckSeconds: Double

    /// Connections the kernel queues until they are accepted.
    public static let listenBacklog: Int32 = 256
    /// The most one read of a connection takes in. With `maxHeadBytes` it bounds the request
    /// bytes a connection holds.
    public static let readChunkBytes = 16384
    /// Unsent answer bytes beyond which a connection is not read (and no answer started) until
    /// they fall below `writeLowWatermark`.
    public static let writeHighWatermark = 65536
    public static let writeLowWatermark = 32768
    /// Connections beyond a full table that are told "busy"; more are closed at once.
    public static let busyConnections = 16
    /// How long accept pauses after it failed for want of descriptors or memory.
    public static let acceptPauseMilliseconds: Int64 = 100

    public init(listen: Listen, maxConnections: Int = 256, idleTimeoutSeconds: Double = 30,
                headTimeoutSeconds: Double = 10, maxHeadBytes: Int = 8192, socketCheckSeconds: Double = 2) {
        self.listen = listen
        self.maxConnections = maxConnections
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.headTimeoutSeconds = headTimeoutSeconds
        self.maxHeadBytes = maxHeadBytes
        self.socketCheckSeconds = socketCheckSeconds
    }
}

/// What a listener serves.
public enum ServerRole: Sendable, Equatable {
    /// The query API (the Unix socket).
    case query
    /// GET /metrics and /healthz only (the opt-in TCP listener for Prometheus).
    case metrics
}

public struct ServerStartError: Error, CustomStringConvertible {
    public let description: String
}
