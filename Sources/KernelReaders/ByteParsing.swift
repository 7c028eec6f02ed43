#if canImport(Glibc)
import Glibc
#endif

/// Allocation-free parsing of the small text formats the kernel uses. Every function takes the
/// file's path so that errors name it together with the offending line.
public typealias Bytes = UnsafeBufferPointer<UInt8>

enum ASCII {
    static let newline: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let zero: UInt8 = 0x30
    static let minus: UInt8 = 0x2D
    static let dot: UInt8 = 0x2E
    static let equals: UInt8 = 0x3D

    static func isSpace(_ c: UInt8) -> Bool { c == space || c == tab || c == newline || c == 0x0D }
    static func isDigit(_ c: UInt8) -> Bool { c >= zero && c <= zero + 9 }
}

extension Collection where Element == UInt8 {
    /// True when the bytes spell `word` exactly.
    func equals(_ word: StaticString) -> Bool {
        guard count == word.utf8CodeUnitCount else { return false }
        return word.withUTF8Buffer { w in zip(self, w).allSatisfy { $0 == $1 } }
    }
}

extension Slice where Base == UnsafeBufferPointer<UInt8> {
    /// `equals` for the slices the parsers hand out: a length check, then a byte loop.
    func equals(_ word: StaticString) -> Bool {
        guard count == word.utf8CodeUnitCount else { return false }
        return word.withUTF8Buffer { w in
            var i = 0
            while i < w.count {
                if base[startIndex + i] != w[i] { return false }
                i += 1
            }
            return true
        }
    }
}

extension BidirectionalCollection where Element == UInt8 {

    func trimmingSpace() -> SubSequence {
        var start = startIndex
        while start != endIndex, ASCII.isSpace(self[start]) { start = index(after: start) }
        var end = endIndex
        while end != start {
            let before = index(before: end)
            if !ASCII.isSpace(self[before]) { break }
            end = before
        }
        return self[start..<end]
    }
}

public enum Parse {
    /// An unsigned decimal with no sign, no spaces; nil on anything else or on overflow.
    
    public static func unsigned(_ digits: some Collection<UInt8>) -> UInt64? {
        if digits.isEmpty { return nil }
        var value: UInt64 = 0
        for c in digits {
            guard ASCII.isDigit(c) else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c &- ASCII.zero))
            if o1 || o2 { return nil }
            value = a
        }
        return value
    }

    /// A signed decimal (cfs_quota_us is -1 when unlimited).
    public static func signed(_ digits: some Collection<UInt8>) -> Int64? {
        guard let first = digits.first else { return nil }
        if first == ASCII.minus {
            guard let magnitude = unsigned(digits.dropFirst()), magnitude <= UInt64(Int64.max) else { return nil }
            return -Int64(magnitude)
        }
        guard let magnitude = unsigned(digits), magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// A non-negative decimal fraction such as `0.25` (pressure averages).
    public static func decimal(_ text: some Collection<UInt8>) -> Double? {
        var integer: UInt64 = 0, fraction: UInt64 = 0, scale: Double = 1
        var seenDot = false, seenDigit = false
        for c in text {
            if c == ASCII.dot, !seenDot { seenDot = true; continue }
            guard ASCII.isDigit(c) else { return nil }
            seenDigit = true
            let d = UInt64(c &- ASCII.zero)
            if seenDot {
                if scale < 1e15 { fraction = fraction &* 10 &+ d; scale *= 10 }
            } else {
                let (m, o1) = integer.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(d)
                if o1 || o2 { return nil }
                integer = a
            }
        }
        return seenDigit ? Double(integer) + Double(fraction) / scale : nil
    }

    /// A file holding one unsigned number (memory.current, cpuacct.usage, …).
    public static func singleUnsigned(_ bytes: Bytes, path: String) throws(KernelFileError) -> UInt64 {
        let text = bytes.trimmingSpace()
        if text.isEmpty { throw KernelFileError(path: path, kind: .malformed("empty file")) }
        guard let v = unsigned(text) else {
            throw KernelFileError.malformed(path, "expected an unsigned integer", line: text)
        }
        return v
    }

    /// A file holding one signed number.
    public static func singleSigned(_ bytes: Bytes, path: String) throws(KernelFileError) -> Int64 {
        let text = bytes.trimmingSpace()
        if text.isEmpty { throw KernelFileError(path: path, kind: .malformed("empty file")) }
        guard let v = signed(text) else {
            throw KernelFileError.malformed(path, "expected an integer", line: text)
        }
        return v
    }

    /// The value of each of `keys` in `key value` lines, nil for a key the file does not have (the
    /// first line of a key counts). Only the lines of wanted keys are parsed, and one that is not
    /// `key number` is an error: memory.stat has some 40 lines of which two are used, and it is
    /// read on every tick. Lines are found with memchr.
    public static func values(of keys: [StaticString], in bytes: Bytes, path: String) throws(KernelFileError) -> [UInt64?] {
        // Filled by appending: `Array(repeating:count:)` of an Optional looks the array's type
        // up in the runtime's metadata cache on every call, and this runs on every tick.
        var found: [UInt64?] = []
        found.reserveCapacity(keys.count)
        for _ in keys { found.append(nil) }
        guard let base = bytes.baseAddress else { return found }
        let end = bytes.count
        var remaining = keys.count
        var lineStart = 0
        while lineStart < end, remaining > 0 {
            let lineEnd = memchr(base + lineStart, Int32(ASCII.newline), end - lineStart)
                .map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - base } ?? end
            let length = lineEnd - lineStart
            for k in keys.indices where found[k] == nil {
                let key = keys[k]
                let n = key.utf8CodeUnitCount
                guard n < length, base[lineStart] == key.utf8Start[0],
                      base[lineStart + n] == ASCII.space || base[lineStart + n] == ASCII.tab,
                      memcmp(base + lineStart, key.utf8Start, n) == 0 else { continue }
                var valueStart = lineStart + n, valueEnd = lineEnd
                while valueStart < valueEnd, ASCII.isSpace(base[valueStart]) { valueStart += 1 }
                while valueEnd > valueStart, ASCII.isSpace(base[valueEnd - 1]) { valueEnd -= 1 }
                guard let value = unsigned(bytes, from: valueStart, to: valueEnd) else {
                    throw KernelFileError.malformed(path, "expected 'key value'", line: bytes[lineStart..<lineEnd])
                }
                found[k] = value
                remaining -= 1
                break
            }
            lineStart = lineEnd + 1
        }
        return found
    }

    /// `unsigned` on `bytes[from..<to]` without making a slice (callers pass indices inside `bytes`).
    @inline(__always)
    static func unsigned(_ bytes: Bytes, from: Int, to: Int) -> UInt64? {
        if from >= to { return nil }
        var value: UInt64 = 0
        var i = from
        while i < to {
            let digit = bytes[i] &- ASCII.zero
            guard digit < 10 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(digit))
            if o1 || o2 { return nil }
            value = a
            i += 1
        }
        return value
    }

    /// Splits into lines (without the newline), skipping none.
    public static func lines(_ bytes: some Collection<UInt8>) -> [ArraySlice<UInt8>] {
        Array(bytes).split(separator: ASCII.newline, omittingEmptySubsequences: false).filter { !$0.isEmpty }
    }
}
