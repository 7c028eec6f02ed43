"""Request metadata for ASGI apps (FastAPI, Starlette): a pure ASGI middleware.

``app.add_middleware(RequestMetadataMiddleware)`` or ``drum_monitor_client.asgi.init_app(app)``.
The :class:`RequestInfo` is set in a ContextVar for the request's task, which sync endpoints
running in Starlette's threadpool see too (it copies the context). The request ends when the
last body message has been sent. Websocket and lifespan scopes pass through untouched.
"""
from typing import Any, Awaitable, Callable, MutableMapping, Optional

from .errors import describe
from .recorder import OnComplete, RequestSink, finish_request
from .request_info import RequestInfo, _current, choose_request_id

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REQUEST_ID = b"x-request-id"


def init_app(app: Any, *, on_complete: Optional[OnComplete] = None, jsonl_path: Optional[str] = None) -> None:
    """``app.add_middleware(RequestMetadataMiddleware, ...)`` for Starlette and FastAPI."""
    app.add_middleware(RequestMetadataMiddleware, on_complete=on_complete, jsonl_path=jsonl_path)


def route_template(scope: Scope) -> Optional[str]:
    """The path template of the route Starlette matched (``/items/{item_id}``)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    # Starlette before scope["route"]: find the route that fully matches, as the router did.
    router = getattr(scope.get("app"), "router", None)
    routes = getattr(router, "routes", None)
    if not routes:
        return None
    from starlette.routing import Match

    for candidate in routes:
        try:
            match, _ = candidate.matches(scope)
        except Exception:
            continue
        if match == Match.FULL:
            path = getattr(candidate, "path", None)
            return path if isinstance(path, str) else None
    return None


class RequestMetadataMiddleware:
    def __init__(self, app: ASGIApp, *, on_complete: Optional[OnComplete] = None,
                 jsonl_path: Optional[str] = None) -> None:
        self.app = app
        self.sink = RequestSink(on_complete, jsonl_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        header: Optional[str] = None
        for name, value in scope.get("headers") or ():
            if name == _REQUEST_ID:
                header = value.decode("latin-1")
                break
        request_id = choose_request_id(header)
        # ASGI servers put the mount prefix in path too (the spec's current reading); older
        # ones give it only in root_path.
        path, root = scope.get("path", ""), scope.get("root_path", "")
        if root and not path.startswith(root):
            path = root + path
        info = RequestInfo(request_id, scope.get("method", ""), path, "asgi",
                           route_lookup=lambda: route_template(scope))
        token = _current.set(info)

        async def send_recording(message: Message) -> None:
            kind = message.get("type")
            if kind == "http.response.start":
                info.status = message.get("status")
                headers = message.get("headers") or []
                if not any(bytes(name).lower() == _REQUEST_ID for name, _ in headers):
                    message = dict(message)
                    message["headers"] = list(headers) + [(_REQUEST_ID, request_id.encode("latin-1", "replace"))]
            await send(message)
            if kind == "http.response.body" and not message.get("more_body", False):
                info.mark_end()

        try:
            await self.app(scope, receive, send_recording)
        except BaseException as error:
            if info.status is None:
                info.status = 500
            if info.error is None:
                info.error = describe(error)
            raise
        finally:
            try:
                finish_request(info, self.sink)
            finally:
                _current.reset(token)

