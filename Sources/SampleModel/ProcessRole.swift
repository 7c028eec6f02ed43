/// What a process of the DRUM tree is to DRUM; the raw values are the API's `role` strings.
public enum ProcessRole: String, Sendable, Equatable, CaseIterable {
    /// The DRUM root (werkzeug server, gunicorn master, or the watched pid).
    case master
    /// A process running DRUM's program: a gunicorn or uvicorn worker (uvicorn's are
    /// `multiprocessing` spawn children of its master).
    case worker
    /// A `multiprocessing` helper in the tree (uvicorn's resource tracker, a forkserver).
    case helper
    /// Anything else in the tree (what a model or a worker spawned).
    case child
}
