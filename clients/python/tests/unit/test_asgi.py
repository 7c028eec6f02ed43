"""ASGI (FastAPI/Starlette TestClient): ids, route templates, sync endpoints in the threadpool,
status on success, handled error and unhandled 500, no leak, streaming, websocket and lifespan
untouched."""
import asyncio
import threading
import uuid

import pytest

fastapi = pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi import FastAPI, HTTPException, WebSocket  # noqa: E402
from fastapi.responses import StreamingResponse  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from drum_monitor_client import current_request  # noqa: E402
from drum_monitor_client.asgi import RequestMetadataMiddleware, init_app  # noqa: E402




class Teapot(Exception):
    pass


def make_app(records):
    events = []

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app):
        events.append(("startup", current_request()))
        yield
        events.append(("shutdown", current_request()))

    app = FastAPI(lifespan=lifespan)

    @app.exception_handler(Teapot)
    async def teapot(request, error):
        from fastapi.responses import JSONResponse

        return JSONResponse({"message": "handled"}, status_code=418)

    @app.get("/items/{item_id}")
    async def item(item_id: int):
        info = current_request()
        await asyncio.sleep(0)
        return {"id": info.request_id, "route": info.route, "same": current_request() is info}

    @app.get("/sync/{name}")
    def sync_endpoint(name: str):  # runs in the threadpool
        info = current_request()
        return {"id": info.request_id if info else None, "thread": threading.current_thread().name}

    @app.get("/boom")
    async def boom():
        raise ValueError("kaboom")

    @app.get("/missing")
    async def missing():
        raise HTTPException(status_code=404, detail="nope")

    @app.get("/teapot")
    async def handled():
        raise Teapot("short and stout")

    @app.get("/stream")
    async def stream():
        async def body():
            yield "a-{};".format(current_request().request_id)
            await asyncio.sleep(0)
            yield "b-{}".format(current_request().request_id)
        return StreamingResponse(body())

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_json({"request": current_request() is not None})
        await websocket.close()

    init_app(app, on_complete=records)
    return app, events


def test_id_route_status_and_echo(records):
    app, _ = make_app(records)
    with TestClient(app) as client:
        answer = client.get("/items/5", headers={"X-Request-ID": "abc"})
    assert answer.json() == {"id": "abc", "route": "/items/{item_id}", "same": True}
    assert answer.headers["x-request-id"] == "abc"
    record, = records.wait(1)
    assert (record["request_id"], record["method"], record["path"], record["route"], record["status"],
            record["error"], record["server"]) == ("abc", "GET", "/items/5", "/items/{item_id}", 200, None, "asgi")
    assert record["peak_memory_bytes"] == 100 * 1024 * 1024 and record["peak_complete"]


def test_a_new_uuid_without_a_header(records):
    app, _ = make_app(records)
    with TestClient(app) as client:
        answer = client.get("/items/1")
    assert uuid.UUID(answer.json()["id"]).version == 4
    assert answer.headers["x-request-id"] == answer.json()["id"]


def test_sync_endpoints_in_the_threadpool_see_the_request(records):
    app, _ = make_app(records)
    with TestClient(app) as client:
        answer = client.get("/sync/x", headers={"X-Request-ID": "in-a-thread"})
    assert answer.json()["id"] == "in-a-thread"
    assert answer.json()["thread"] != threading.current_thread().name
    assert records.wait(1)[0]["route"] == "/sync/{name}"


def test_concurrent_requests_keep_their_own_ids(records):
    app, _ = make_app(records)

    async def run():
        import httpx

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answers = await asyncio.gather(*[
                client.get("/items/{}".format(n), headers={"X-Request-ID": "c-{}".format(n)}) for n in range(30)])
        return [a.json() for a in answers]

    answers = asyncio.run(run())
    assert [a["id"] for a in answers] == ["c-{}".format(n) for n in range(30)]
    assert all(a["same"] for a in answers)


def test_unhandled_error_is_500_with_the_error(records):
    app, _ = make_app(records)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/boom", headers={"X-Request-ID": "b"}).status_code == 500
    record, = records.wait(1)
    assert (record["status"], record["error"], record["route"]) == (500, "ValueError: kaboom", "/boom")


def test_handled_errors_keep_their_status(records):
    app, _ = make_app(records)
    with TestClient(app) as client:
        assert client.get("/missing").status_code == 404
        assert client.get("/teapot").status_code == 418
        assert client.get("/no/such/route").status_code == 404
    by_path = {r["path"]: r for r in records.wait(3)}
    assert (by_path["/missing"]["status"], by_path["/missing"]["route"]) == (404, "/missing")
    assert by_path["/teapot"]["status"] == 418
    assert (by_path["/no/such/route"]["status"], by_path["/no/such/route"]["route"]) == (404, None)


def test_no_leak_between_requests(records):
    app, _ = make_app(records)
    with TestClient(app) as client:
        ids = [client.get("/sync/{}".format(n), headers={"X-Request-ID": "n{}".format(n)}).json()["id"]
               for n in range(5)]
    assert ids == ["n{}".format(n) for n in range(5)]
    assert current_request() is None


def test_streaming_ends_after_the_last_chunk(records):
    app, _ = make_app(records)
    with TestClient(app) as client:
        answer = client.get("/stream", headers={"X-Request-ID": "s"})
    assert answer.text == "a-s;b-s"
    record, = records.wait(1)
    assert record["status"] == 200 and record["route"] == "/stream"


def test_websocket_and_lifespan_pass_through(records):
    app, events = make_app(records)
    with TestClient(app) as client:
        with client.websocket_connect("/ws") as ws:
            assert ws.receive_json() == {"request": False}
    assert events == [("startup", None), ("shutdown", None)]
    assert records.items == []


def test_plain_starlette_and_the_middleware_class(records):
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def user(request):
        return JSONResponse({"route": current_request().route, "id": current_request().request_id})

    app = Starlette(routes=[Route("/users/{name}", user)],
                    middleware=[Middleware(RequestMetadataMiddleware, on_complete=records)])
    with TestClient(app) as client:
        answer = client.get("/users/ann", headers={"X-Request-ID": "u"})
    assert answer.json() == {"route": "/users/{name}", "id": "u"}


def test_route_lookup_without_scope_route():
    """Starlette releases before scope["route"]: the middleware matches the routes itself."""
    from starlette.routing import Route, Router

    from drum_monitor_client.asgi import route_template

    router = Router(routes=[Route("/a/{x}", lambda r: None), Route("/b", lambda r: None)])

    class App:
        pass

    app = App()
    app.router = router
    scope = {"type": "http", "path": "/a/1", "method": "GET", "app": app, "root_path": ""}
    assert route_template(scope) == "/a/{x}"
    assert route_template(dict(scope, path="/zzz")) is None
