import SampleModel

/// Sizes in the configuration, as systemd writes them (MemoryMax=): a whole number of bytes, or
/// a decimal number with K, M, G, T (or KiB, MiB, GiB, TiB), all powers of 1024.
enum ByteSizeText {
    static let units: [(suffixes: [String], scale: Double)] = [
        (["T", "TiB"], 1_099_511_627_776), (["G", "GiB"], 1_073_741_824), (["M", "MiB"], 1_048_576), (["K", "KiB"], 1024), (["B", ""], 1),
    ]

    /// Bytes, rounded down; nil for anything else (a sign, an exponent, KB/MB: say K or KiB).
    static func bytes(_ text: String) -> Int? {
        for (suffixes, scale) in units {
            for suffix in suffixes where text.hasSuffix(suffix) {
                guard let number = DecimalText.value(text.dropLast(suffix.count)) else { continue }
                let bytes = (number * scale).rounded(.down)
                return bytes < 9.0e18 ? Int(bytes) : nil
            }
        }
        return nil
    }

    /// The largest unit that divides exactly: 268435456 → 256M.
    static func format(_ bytes: Int) -> String {
        for (suffixes, scale) in units where scale > 1 {
            let s = Int(scale)
            if bytes >= s, bytes % s == 0 { return "\(bytes / s)\(suffixes[0])" }
        }
        return String(bytes)
    }
}
