// Temporary directories with short paths (Unix socket paths must stay under 108 bytes).
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// mkdtemp(3): the created directory's path, or nil.
func makeTemporaryDirectory(_ template: String) -> String? {
    var bytes = Array(template.utf8CString)
    guard bytes.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else { return nil }
    return String(decoding: bytes.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A fresh directory under /tmp with a short path (Unix socket paths must stay under 108 bytes).
final class TempDir {
    let path: String

    init(_ tag: String = "dmt") throws {
        path = try #require(makeTemporaryDirectory("/tmp/\(tag).XXXXXX"), "mkdtemp: \(String(cString: strerror(errno)))")
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ text: String) throws -> String {
        let p = file(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }

    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let p = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    deinit { remove() }
}
