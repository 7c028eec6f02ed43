/// Writes metric families as the Prometheus text format 0.0.4 (what `promtool check metrics`
/// reads) or as OpenMetrics 1.0 (`# TYPE`, `# UNIT`, `# HELP` per family, `# EOF` at the end).
/// Families are sorted by name, samples by their labels, so the output is the same for the same
/// values. Values that are not finite are never written: families leave unknown values out.
struct MetricsText {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 8192) { bytes.reserveCapacity(capacity) }

    static func render(_ families: [MetricFamily], _ format: MetricsFormat) -> [UInt8] {
        var text = MetricsText()
        let openMetrics = format != .text
        for family in families.sorted(by: { $0.name < $1.name }) {
            let samples = family.samples.filter(\.value.isFinite)
            // A family without samples says nothing; promtool flags a HELP with no samples.
            guard !samples.isEmpty else { continue }
            if openMetrics {
                text.openMetricsHeader(family)
            } else {
                text.append("# HELP ", family.name, " ")
                text.appendEscaped(family.help, quotes: false)
                text.append("\n# TYPE ", family.name, family.kind == .counter ? " counter\n" : " gauge\n")
            }
            for sample in samples.sorted(by: { Self.labelsPrecede($0.labels, $1.labels) }) {
                text.append(family.name)
                text.appendLabels(sample.labels)
                text.append(" ")
                text.append(Self.number(sample.value))
                text.append("\n")
            }
        }
        if openMetrics { text.append("# EOF\n") }
        return text.bytes
    }

    private mutating func openMetricsHeader(_ family: MetricFamily) {
        let name = String(family.openMetricsName)
        let type: String
        switch family.kind {
        case .gauge: type = "gauge"
        case .counter: type = "counter"
        case .info: type = "info"
        }
        append("# TYPE ", name, " ", type, "\n")
        if let unit = family.unit { append("# UNIT ", name, " ", unit, "\n") }
        append("# HELP ", name, " ")
        appendEscaped(family.help, quotes: true)
        append("\n")
    }

    private mutating func appendLabels(_ labels: [(name: String, value: String)]) {
        guard !labels.isEmpty else { return }
        append("{")
        for (i, label) in labels.enumerated() {
            if i > 0 { append(",") }
            append(label.name, "=\"")
            appendEscaped(label.value, quotes: true)
            append("\"")
        }
        append("}")
    }

    /// Backslash and newline, and in label values (and OpenMetrics' HELP) the double quote.
    private mutating func appendEscaped(_ s: String, quotes: Bool) {
        for unit in s.utf8 {
            switch unit {
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case UInt8(ascii: "\"") where quotes: bytes.append(contentsOf: [0x5C, 0x22])
            default: bytes.append(unit)
            }
        }
    }

    private mutating func append(_ parts: String...) {
        for part in parts { bytes.append(contentsOf: part.utf8) }
    }

    /// Whole numbers without a fraction (byte counts stay exact integers); others in Swift's
    /// shortest form that reads back as the same double (Go's ParseFloat reads it).
    static func number(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 9.007199254740992e15 { return String(Int64(v)) }
        return v.description
    }

    static func labelsPrecede(_ a: [(name: String, value: String)], _ b: [(name: String, value: String)]) -> Bool {
        for (x, y) in zip(a, b) where x != y {
            return x.name != y.name ? x.name < y.name : x.value < y.value
        }
        return a.count < b.count
    }
}
