/// Everything one frame of `top` shows: what the daemon answered (kept by the feed) and what the
/// person chose (window, order). The screen is a pure function of this, a size and the time.
struct TopView: Sendable {
    enum Connection: Sendable, Equatable {
        case connecting
        case up
        /// Why not (the first line is shown), since when (Unix ns).
        case down(String, sinceUnixNs: Int64)
    }

    var socketPath: String
    var connection: Connection = .connecting
    var snapshot: SnapshotDocument?
    /// `/v1/window?seconds=<window>`: the window's maximum and whether the history covers it.
    var window: WindowDocument?
    var series: Series?
    /// Nil when the daemon has no events endpoint (the panel is hidden).
    var events: RecentEvents?
    /// When the watched root started (Unix ns), when this host can tell.
    var rootStartedUnixNs: Int64?
    var table = ProcessTable()
    private(set) var windowSeconds: Double
    /// The windows `w` cycles through: 1m, 5m, 1h, and the one given with --window.
    let windowCycle: [Double]
    var sort: ProcessSort = .pid

    static let standardWindows: [Double] = [60, 300, 3600]

    init(socketPath: String, windowSeconds: Double) {
        self.socketPath = socketPath
        self.windowSeconds = windowSeconds
        windowCycle = Array(Set(Self.standardWindows + [windowSeconds])).sorted()
    }

    mutating func nextWindow() {
        windowSeconds = windowCycle[((windowCycle.firstIndex(of: windowSeconds) ?? 0) + 1) % windowCycle.count]
    }
}
