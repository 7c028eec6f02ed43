import SystemPackage

/// Holds a control file open if it exists; remembers why not otherwise.
func hold(_ path: String, writable: Bool = false) -> Reading<HeldFile> {
    do { return .value(try HeldFile(path: path, writable: writable)) } catch { return .unavailable("\(error)") }
}

/// A control file held at each level from a cgroup up to the top of its mount, leaf first, with
/// each level's cgroup path: the files whose smallest value is the effective limit. A level whose
/// file cannot be opened keeps the reason (the limit is then unknown), except on v2 where a
/// cgroup without the controller has no such file: the real root never has memory.max or
/// cpu.max, and a level whose parent does not enable the controller has no limit of its own
/// (its nearest ancestor with one applies, and is read too). A removed cgroup is not that: its
/// directory is gone too.
func holdAtEachLevel(_ location: CgroupLocation, _ name: String) -> [(path: String, file: Reading<HeldFile>)] {
    location.selfAndAncestors.compactMap { dir in
        let path = location.cgroupPath(ofDirectory: dir)
        do throws(KernelFileError) {
            return (path, .value(try HeldFile(path: dir + "/" + name)))
        } catch {
            if location.version == .v2, error.errno == .noSuchFileOrDirectory, directoryExists(dir) { return nil }
            return (path, .unavailable("\(error)"))
        }
    }
}

private func directoryExists(_ path: String) -> Bool {
    guard let fd = try? FileDescriptor.open(FilePath(path), .readOnly, options: [.directory, .closeOnExec]) else { return false }
    try? fd.close()
    return true
}

/// Why a held file is missing, as an error: for code that reads several files and stops at the
/// first it cannot read.
struct UnavailableFile: Error, CustomStringConvertible {
    let description: String
}

extension Reading where Value == HeldFile {
    func file() throws(UnavailableFile) -> HeldFile {
        switch self {
        case .value(let f): return f
        case .unavailable(let why): throw UnavailableFile(description: why)
        }
    }

    func unsigned() -> Reading<UInt64> {
        switch self {
        case .unavailable(let r): return .unavailable(r)
        case .value(let file):
            do {
                return .value(try file.withContents { bytes throws(KernelFileError) in
                    try Parse.singleUnsigned(bytes, path: file.path)
                })
            } catch { return .unavailable("\(error)") }
        }
    }

    /// Reads `key value` lines and returns the values of `keys` (each missing key is an error).
    func keyed(_ keys: [StaticString]) -> [Reading<UInt64>] {
        switch self {
        case .unavailable(let r): return keys.map { _ in .unavailable(r) }
        case .value(let file):
            let found: [UInt64?]
            do {
                found = try file.withContents { bytes throws(KernelFileError) in
                    try Parse.values(of: keys, in: bytes, path: file.path)
                }
            } catch { return keys.map { _ in .unavailable("\(error)") } }
            var readings: [Reading<UInt64>] = []
            readings.reserveCapacity(keys.count)
            for i in keys.indices {
                readings.append(found[i].map { .value($0) } ?? .unavailable("\(file.path): no '\(keys[i])' entry"))
            }
            return readings
        }
    }
}
