#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Clock ticks per second and page size, from sysconf (never assumed to be 100 and 4096).
public struct SystemConstants: Sendable, Equatable {
    public var clockTicksPerSecond: UInt64
    public var pageSize: UInt64

    public init(clockTicksPerSecond: UInt64, pageSize: UInt64) {
        self.clockTicksPerSecond = clockTicksPerSecond
        self.pageSize = pageSize
    }

    public static func fromSysconf() -> SystemConstants {
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        let page = sysconf(Int32(_SC_PAGESIZE))
        return SystemConstants(clockTicksPerSecond: ticks > 0 ? UInt64(ticks) : 100,
                               pageSize: page > 0 ? UInt64(page) : 4096)
    }
}
