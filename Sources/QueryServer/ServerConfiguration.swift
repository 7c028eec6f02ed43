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
    }

    public var listen: Listen
    public var maxConnections: Int
    /// A connection with nothing received for this long is closed.
    public var idleTimeoutSeconds: Double
    /// A request head that takes longer than this to arrive (a trickling client) gets 408.
    public var headTimeoutSeconds: Double
    /// Request heads larger than this get 431.
    public var maxHeadBytes: Int

    public init(listen: Listen, maxConnections: Int = 256, idleTimeoutSeconds: Double = 30,
                headTimeoutSeconds: Double = 10, maxHeadBytes: Int = 8192) {
        self.listen = listen
        self.maxConnections = maxConnections
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.headTimeoutSeconds = headTimeoutSeconds
        self.maxHeadBytes = maxHeadBytes
    }
}

public struct ServerStartError: Error, CustomStringConvertible {
    public let description: String
}
