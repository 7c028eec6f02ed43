/// A value read from the kernel, or the reason it could not be read. Never a silent 0.
public enum Reading<Value> {
    case value(Value)
    case unavailable(String)

    public var value: Value? {
        if case .value(let v) = self { return v }
        return nil
    }

    public var reason: String? {
        if case .unavailable(let r) = self { return r }
        return nil
    }

    public func map<T>(_ transform: (Value) -> T) -> Reading<T> {
        switch self {
        case .value(let v): return .value(transform(v))
        case .unavailable(let r): return .unavailable(r)
        }
    }
}

extension Reading: Equatable where Value: Equatable {}
extension Reading: Sendable where Value: Sendable {}
