/// What happened. The raw values are the codes in a stored event record: never renumber them.
public enum EventKind: UInt8, CaseIterable, Sendable, Hashable {
    /// The cgroup's OOM-kill counter rose; the victims are the tree's processes that vanished.
    case oomKill = 1
    case processExit = 2
    case processStart = 3
    /// A worker exited and a new one appeared in the same or the next sample.
    case workerReplaced = 4
    /// The root exec'd (same pid, new program) or another root took its place.
    case targetChanged = 5
    case targetLost = 6
    case targetFound = 7
    /// The cgroup's usage reached its limit and reclaim ran (v1 failcnt, v2 memory.events max).
    case limitHit = 8
    case limitChanged = 9
    case memoryHigh = 10
    case memoryHighCleared = 11
    /// Samples stopped for longer than the watchdog's rule allows.
    case samplerStall = 12
    /// Memory grows steadily and would reach the limit within the horizon.
    case memoryGrowth = 13
    /// The daemon started again on a history kept from its previous run.
    case daemonRestarted = 14

    /// The name in the API, the journal and the configuration.
    public var name: String {
        switch self {
        case .oomKill: "oom_kill"
        case .processExit: "process_exit"
        case .processStart: "process_start"
        case .workerReplaced: "worker_replaced"
        case .targetChanged: "target_changed"
        case .targetLost: "target_lost"
        case .targetFound: "target_found"
        case .limitHit: "limit_hit"
        case .limitChanged: "limit_changed"
        case .memoryHigh: "memory_high"
        case .memoryHighCleared: "memory_high_cleared"
        case .samplerStall: "sampler_stall"
        case .memoryGrowth: "memory_growth"
        case .daemonRestarted: "daemon_restarted"
        }
    }

    public init?(name: some StringProtocol) {
        guard let kind = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = kind
    }

    /// The journal's MESSAGE_ID for this kind: fixed forever, so `journalctl MESSAGE_ID=…`
    /// finds every event of the kind across versions.
    public var messageID: String {
        switch self {
        case .oomKill: "680fe2d57e644f7cb5bd2d882102563a"
        case .processExit: "d843113bd21a4e08878176951a8f7904"
        case .processStart: "b43ca46ca98940f89d8384985e48d22f"
        case .workerReplaced: "50b1a8fb5253481985561f3a166e6c2d"
        case .targetChanged: "acdb54b1c0cd470db6c24524d9cc9817"
        case .targetLost: "e1d2b0cccbe44f1db02a118bacac65ff"
        case .targetFound: "a94a8ab609b84ee7a4f8f9df2ba48389"
        case .limitHit: "c24653454f6548cb97276f3ba397fcf6"
        case .limitChanged: "0567af27d99340e3b1d67e01e73a9450"
        case .memoryHigh: "e1314e35b28c439ca994a4e21d1ea6c1"
        case .memoryHighCleared: "58ade676f986496c9a3d4081c0c791b4"
        case .samplerStall: "19481934e19f424cb34a66cd047aa299"
        case .memoryGrowth: "c0bfcc3d321043a9888d8c7d81877dca"
        case .daemonRestarted: "ea683cf21dc04e65a3e6937fd7d8a749"
        }
    }

    /// An OOM kill is a warning (a request failed, a worker died); everything else is a notice.
    public var isWarning: Bool { self == .oomKill }
}
