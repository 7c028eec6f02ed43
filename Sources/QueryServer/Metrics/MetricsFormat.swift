/// Which exposition a scraper gets: the Prometheus text format 0.0.4 unless its `Accept` header
/// asks for OpenMetrics at least as strongly as for anything else (Prometheus 2.x sends
/// `application/openmetrics-text;version=1.0.0,…;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1`).
enum MetricsFormat: Sendable, Equatable {
    case text
    /// OpenMetrics 1.0.0, or 0.0.1 when that is the version asked for (the text is the same).
    case openMetrics(version: String)

    var contentType: String {
        switch self {
        case .text: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics(let version): "application/openmetrics-text; version=\(version); charset=utf-8"
        }
    }

    /// The format for an `Accept` header (nil or empty: the text format).
    static func negotiate(accept: String?) -> MetricsFormat {
        guard let accept, !accept.isEmpty else { return .text }
        var bestOpenMetrics: (q: Double, version: String)?
        var bestOther = -1.0
        for range in accept.split(separator: ",") {
            let parts = range.split(separator: ";").map { $0.trimmed(of: " \t") }
            guard let type = parts.first?.lowercased(), !type.isEmpty else { continue }
            var q = 1.0
            var version: String?
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmed(of: " \t\"") }
                guard pair.count == 2 else { continue }
                switch pair[0].lowercased() {
                case "q": q = Double(pair[1]).map { Swift.min(Swift.max($0, 0), 1) } ?? 0
                case "version": version = pair[1]
                default: break
                }
            }
            guard q > 0 else { continue }
            if type == "application/openmetrics-text" {
                // Versions we write: 1.0.0 and 0.0.1 (the same text); none given means the newest.
                guard version == nil || version == "1.0.0" || version == "0.0.1" else { continue }
                if q > (bestOpenMetrics?.q ?? -1) { bestOpenMetrics = (q, version ?? "1.0.0") }
            } else if type == "text/plain" || type == "text/*" || type == "*/*" {
                bestOther = Swift.max(bestOther, q)
            }
        }
        if let om = bestOpenMetrics, om.q >= bestOther { return .openMetrics(version: om.version) }
        return .text
    }
}

extension Substring {
    func trimmed(of set: String) -> String {
        let chars = Set(set)
        var s = self[...]
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
