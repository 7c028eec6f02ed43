/// How a DRUM server was launched, recognised from its argv (and, optionally, its environment).
public enum DrumMode: String, Sendable, Equatable, Codable {
    /// `drum server …` serving with werkzeug (the process is the server).
    case werkzeug
    /// `python -m gunicorn -c …/datarobot_drum/drum/gunicorn/gunicorn.conf.py app:app` after
    /// DRUM exec'd in place; workers are children with the same argv.
    case gunicorn
    /// uvicorn / FastAPI apps started by DRUM.
    case uvicorn
    /// An explicit pid or pidfile that is not recognisably DRUM.
    case pid
}
