import Foundation

/// A random number generator for property and fuzz tests that can be replayed: the seed comes
/// from $DRUM_MONITOR_TEST_SEED when set, is random otherwise, and is printed either way.
/// SplitMix64: small, fast, and the same sequence on every platform for a seed.
public struct SeededRandom: RandomNumberGenerator {
    public let seed: UInt64
    private var state: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        state = seed
    }

    /// A generator for `test` (as `swift test --filter` takes it; `instance` names one of its
    /// arguments), seeded from the environment or at random, with the seed printed and how to
    /// replay it.
    public init(for test: String, instance: String? = nil) {
        let variable = Self.environmentVariable
        let fromEnvironment = ProcessInfo.processInfo.environment[variable].flatMap { UInt64($0) }
        self.init(seed: fromEnvironment ?? UInt64.random(in: 0...UInt64.max))
        let label = instance.map { "\(test) (\($0))" } ?? test
        print("SEED \(label): \(seed) (replay: \(variable)=\(seed) swift test --filter \(test))")
    }

    public static let environmentVariable = "DRUM_MONITOR_TEST_SEED"

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
