"""Request metadata for Flask: ``drum_monitor_client.flask.init_app(app)``.

A WSGI wrapper around ``app.wsgi_app`` sets the :class:`RequestInfo` in a ContextVar for the
request (each thread and each gevent greenlet has its own) and ends it when the server closes
the response, i.e. after the body has been sent, streamed responses included; a
``before_request`` hook adds the route template. The request id (``X-Request-ID``, else DRUM's
``ctx_request_id``, else a new uuid4) is put in the WSGI environ as ``HTTP_X_REQUEST_ID`` so that
DRUM's own ``before_request`` adopts the same id, and echoed as ``X-Request-ID``.
"""
from typing import Any, Callable, Iterable, Iterator, List, Optional, Tuple

from .recorder import OnComplete, RequestSink, finish_request
from .request_info import RequestInfo, _current, choose_request_id
from .errors import describe

_INSTALLED = "_drum_monitor_requests"
StartResponse = Callable[..., Any]


def init_app(app: Any, *, on_complete: Optional[OnComplete] = None, jsonl_path: Optional[str] = None) -> None:
    """Install the hooks on a Flask app (again on the same app: no-op). ``on_complete(info)``
    is called with each finished record once its peak memory is resolved (in a background
    thread); ``jsonl_path`` appends each record as one JSON line."""
    if getattr(app, _INSTALLED, False):
        return
    from flask import request
    from werkzeug.exceptions import HTTPException

    sink = RequestSink(on_complete, jsonl_path)
    app.wsgi_app = RequestMetadataWSGI(app.wsgi_app, sink)

    def record_route() -> None:
        info = _current.get()
        rule = request.url_rule
        if info is not None and rule is not None:
            info.route = rule.rule

    # Registered after DRUM's own hooks (create_flask_app adds them first), so DRUM's request
    # id is already set when this runs.
    app.before_request(record_route)

    def recording(handler: Callable[[BaseException], Any]) -> Callable[[BaseException], Any]:
        def handle(error: BaseException) -> Any:
            info = _current.get()
            if info is not None and info.error is None and not isinstance(error, HTTPException):
                info.error = describe(error)
            return handler(error)
        return handle

    # Every exception a view or hook raises passes here, whether an error handler turns it into
    # a response (DRUM's turns all into 500) or not.
    app.handle_user_exception = recording(app.handle_user_exception)
    app.handle_exception = recording(app.handle_exception)
    setattr(app, _INSTALLED, True)


class RequestMetadataWSGI:
    """The WSGI half (usable around any WSGI app; the route template needs the Flask hook)."""

    def __init__(self, app: Callable[[Any, StartResponse], Iterable[bytes]], sink: RequestSink) -> None:
        self.app = app
        self.sink = sink

    def __call__(self, environ: Any, start_response: StartResponse) -> Iterable[bytes]:
        request_id = choose_request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ["HTTP_X_REQUEST_ID"] = request_id
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        info = RequestInfo(request_id, environ.get("REQUEST_METHOD", ""), path, "wsgi")
        token = _current.set(info)
        # werkzeug's forking server (--max-workers N) handles each request in a child that
        # exits right after it: resolve the peak before that.
        exiting_after = bool(environ.get("wsgi.multiprocess")) and not environ.get("wsgi.multithread") \
            and str(environ.get("SERVER_SOFTWARE", "")).startswith("Werkzeug")

        def start(status: str, headers: List[Tuple[str, str]], exc_info: Any = None) -> Any:
            try:
                info.status = int(status.split(" ", 1)[0])
            except ValueError:
                info.status = None
            if not any(name.lower() == "x-request-id" for name, _ in headers):
                headers = list(headers) + [("X-Request-ID", request_id)]
            if exc_info is not None:
                return start_response(status, headers, exc_info)
            return start_response(status, headers)

        def finish() -> None:
            try:
                finish_request(info, self.sink, exiting_after)
            finally:
                try:
                    _current.reset(token)
                except ValueError:  # closed in another context than it was opened in
                    if _current.get() is info:
                        _current.set(None)

        try:
            body = self.app(environ, start)
        except BaseException as error:
            if info.status is None or info.status < 500:
                info.status = 500
            if info.error is None:
                info.error = describe(error)
            finish()
            raise
        return _Body(body, info, finish)


class _Body:
    """The response iterable: the request ends when the server closes it (PEP 3333 promises
    ``close()`` after the last byte is sent or the client went away)."""

    def __init__(self, body: Iterable[bytes], info: RequestInfo, finish: Callable[[], None]) -> None:
        self._body = body
        self._info = info
        self._finish: Optional[Callable[[], None]] = finish

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._body:
                yield chunk
        except BaseException as error:
            if self._info.error is None and not isinstance(error, GeneratorExit):
                self._info.error = describe(error)
            raise

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            finish, self._finish = self._finish, None
            if finish is not None:
                finish()
