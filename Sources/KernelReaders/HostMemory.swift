/// /proc/meminfo: the host's total and available memory (kB in the file, bytes here).
public struct HostMemory: Sendable, Equatable {
    public var totalBytes: UInt64
    public var availableBytes: UInt64
    public var freeBytes: UInt64

    public init(totalBytes: UInt64, availableBytes: UInt64, freeBytes: UInt64) {
        self.totalBytes = totalBytes
        self.availableBytes = availableBytes
        self.freeBytes = freeBytes
    }

    public static func parse(_ bytes: Bytes, path: String) throws(KernelFileError) -> HostMemory {
        var total: UInt64?, available: UInt64?, free: UInt64?
        var lineStart = bytes.startIndex
        while lineStart < bytes.endIndex, total == nil || available == nil || free == nil {
            var lineEnd = lineStart
            while lineEnd < bytes.endIndex, bytes[lineEnd] != ASCII.newline { lineEnd += 1 }
            let line = bytes[lineStart..<lineEnd]
            defer { lineStart = lineEnd + 1 }
            guard let colon = line.firstIndex(of: ASCII.colon) else { continue }
            let key = bytes[lineStart..<colon]
            let isTotal = key.equals("MemTotal"), isAvail = key.equals("MemAvailable"), isFree = key.equals("MemFree")
            guard isTotal || isAvail || isFree else { continue }
            var rest = bytes[(colon + 1)..<lineEnd].trimmingSpace()
            var multiplier: UInt64 = 1
            if rest.count >= 2, rest[rest.index(rest.endIndex, offsetBy: -2)...].equals("kB") {
                multiplier = 1024
                rest = rest[rest.startIndex..<rest.index(rest.endIndex, offsetBy: -2)].trimmingSpace()
            }
            guard let value = Parse.unsigned(rest) else {
                throw KernelFileError.malformed(path, "expected a number of kB", line: line)
            }
            let (bytesValue, overflow) = value.multipliedReportingOverflow(by: multiplier)
            if overflow { throw KernelFileError.malformed(path, "value out of range", line: line) }
            if isTotal { total = bytesValue } else if isAvail { available = bytesValue } else { free = bytesValue }
        }
        guard let total else { throw KernelFileError(path: path, kind: .missingKey("MemTotal")) }
        guard let free else { throw KernelFileError(path: path, kind: .missingKey("MemFree")) }
        // MemAvailable exists since Linux 3.14; before that, free is the honest lower bound.
        return HostMemory(totalBytes: total, availableBytes: available ?? free, freeBytes: free)
    }
}
