/// What a process of the DRUM tree is to DRUM; the raw values are the API's `role` strings.
public enum ProcessRole: String, Sendable, Equatable, CaseIterable {
    /// The DRUM root (werkzeug server, gunicorn master, or the watched pid).
    case master
    /// A process running DRUM's program: a gunicorn or uvicorn worker.
    case worker
    /// Anything else in the tree (what a model or a worker spawned).
    case child
}
