import Dispatch
import Foundation
import Synchronization
import Testing
@testable import KernelReaders

/// `HeldFile` reads into one buffer per thread (`ReadScratch`): what that must not change.
@Suite final class HeldFileTests {
    private let dir = FileManager.default.temporaryDirectory.appendingPathComponent("heldfile-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }

    deinit { try? FileManager.default.removeItem(at: dir) }

    private func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func aReadInsideAnothersBodyLeavesItsBytesAlone() throws {
        let outerBytes = Array(repeating: UInt8(ascii: "a"), count: 300)
        let outer = try HeldFile(path: file("outer", outerBytes))
        let inner = try HeldFile(path: file("inner", Array("bbbbbbbb".utf8)))
        let (seenInside, seenAfter) = try outer.withContents { a throws(KernelFileError) in
            let b = try inner.withContents { Array($0) }
            return (b, Array(a))
        }
        #expect(seenInside == Array("bbbbbbbb".utf8))
        #expect(seenAfter == outerBytes, "the outer read's bytes were overwritten by the inner read")
    }

    @Test func aFileLargerThanTheBufferIsReadWholeAndTheNextOneExactly() throws {
        let large = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let big = try HeldFile(path: file("big", large))
        let small = try HeldFile(path: file("small", Array("42\n".utf8)))
        #expect(try big.readAll() == large)
        #expect(try small.readAll() == Array("42\n".utf8))
        #expect(try big.readAll() == large, "re-read from offset 0 into the grown buffer")
    }

    @Test func aLargeReadDoesNotLeaveTheThreadsBufferLarge() throws {
        let huge = try HeldFile(path: file("huge", Array(repeating: UInt8(ascii: "x"), count: 200_000)))
        let seen = try huge.withContents { bytes throws(KernelFileError) in (bytes.count, ReadScratch.bytesOnThisThread) }
        #expect(seen.0 == 200_000 && seen.1 >= 200_000)
        #expect(ReadScratch.bytesOnThisThread <= ReadScratch.keptBytes)
    }

    @Test func threadsReadingAtOnceEachGetTheirOwnFile() throws {
        let contents = (0..<8).map { i in Array(String(repeating: "\(i)", count: 100 + i * 37).utf8) }
        let paths = try contents.enumerated().map { try file("f\($0.offset)", $0.element) }
        let mismatches = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            guard let file = try? HeldFile(path: paths[i]) else { mismatches.withLock { $0 += 1 }; return }
            for _ in 0..<500 where (try? file.readAll()) != contents[i] {
                mismatches.withLock { $0 += 1 }
            }
        }
        #expect(mismatches.withLock { $0 } == 0)
    }
}
