#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

enum ErrnoText {
    static func describe(_ code: Int32) -> String {
        guard let cString = strerror(code) else { return "errno \(code)" }
        return "\(String(cString: cString)) (errno \(code))"
    }
}
