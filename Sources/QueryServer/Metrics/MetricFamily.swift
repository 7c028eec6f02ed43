/// One metric family of the exposition: its name, type, unit, help and samples. Built fresh for
/// each scrape from the latest sample; no registry, nothing kept between scrapes.
struct MetricFamily: Sendable {
    enum Kind: Sendable {
        case gauge
        /// `name` ends in `_total`; OpenMetrics names the family without it.
        case counter
        /// Constant 1, the labels are the information; `name` ends in `_info`. A gauge in the
        /// text format (what node_exporter and client_golang write), `info` in OpenMetrics.
        case info
    }

    /// The name in the text format 0.0.4, which is also every sample's name.
    let name: String
    let kind: Kind
    /// OpenMetrics `# UNIT`: the base unit the name ends with (before `_total`), if any.
    let unit: String?
    let help: String
    var samples: [Sample]

    struct Sample: Sendable {
        var labels: [(name: String, value: String)]
        var value: Double
    }

    init(_ name: String, _ kind: Kind, unit: String? = nil, help: String, samples: [Sample] = []) {
        self.name = name
        self.kind = kind
        self.unit = unit
        self.help = help
        self.samples = samples
    }

    /// The family's name in OpenMetrics: without the counter's `_total` or the info's `_info`.
    var openMetricsName: Substring {
        switch kind {
        case .gauge: name[...]
        case .counter: name.hasSuffix("_total") ? name.dropLast(6) : name[...]
        case .info: name.hasSuffix("_info") ? name.dropLast(5) : name[...]
        }
    }
}
