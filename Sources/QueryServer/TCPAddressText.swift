/// `host:port` as written in `metrics_listen` and in log lines: an IPv4 literal, or an IPv6
/// literal in brackets, then the port.
public enum TCPAddressText {
    public static func format(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Splits `127.0.0.1:10042` or `[::1]:10042`; nil when it is neither, the host is not an IP
    /// literal, or the port is not 1–65535 (0 is allowed with `allowAnyPort`, for tests).
    public static func parse(_ text: String, allowAnyPort: Bool = false) -> (host: String, port: Int)? {
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard isIPv6(host) else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard isIPv4(host) else { return nil }
        }
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }), portText.count <= 5,
              let port = Int(portText), port <= 65535, port >= (allowAnyPort ? 0 : 1) else { return nil }
        return (String(host), port)
    }

    static func isIPv4(_ s: Substring) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in
            !p.isEmpty && p.count <= 3 && p.allSatisfy { $0.isASCII && $0.isNumber } && Int(p)! <= 255
        }
    }

    static func isIPv6(_ s: Substring) -> Bool {
        !s.isEmpty && s.count <= 45 && s.contains(":")
            && s.allSatisfy { $0.isASCII && ($0.isHexDigit || $0 == ":" || $0 == ".") }
    }

    /// Loopback only: 127.0.0.0/8 or ::1.
    public static func isLoopback(_ host: String) -> Bool {
        host.hasPrefix("127.") || host == "::1"
    }
}
