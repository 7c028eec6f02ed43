"""Flask: ids, route templates, status on success, handled error and unhandled 500, no leak
between requests, streaming, DRUM's request id, peaks delivered."""
import contextvars
import sys
import types
import uuid

import pytest

flask = pytest.importorskip("flask")

import flask.testing  # noqa: E402

from drum_monitor_client import current_request  # noqa: E402
from drum_monitor_client import recorder  # noqa: E402
from drum_monitor_client.flask import init_app  # noqa: E402




class BufferedClient(flask.testing.FlaskClient):
    """Closes every response as a WSGI server does (werkzeug's test client leaves unbuffered
    responses open until the caller closes them)."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


def make_app(records, testing=True):
    app = flask.Flask("t")
    app.test_client_class = BufferedClient
    app.testing = testing
    seen = {}

    @app.route("/items/<int:item_id>")
    def item(item_id):
        info = current_request()
        seen["inside"] = info
        return {"id": info.request_id, "route": info.route, "item": item_id}

    @app.route("/boom")
    def boom():
        raise ValueError("kaboom")

    class Teapot(Exception):
        pass

    @app.errorhandler(Teapot)
    def teapot(error):
        return {"message": "handled"}, 418

    @app.route("/teapot")
    def handled():
        raise Teapot("short and stout")

    @app.route("/stream")
    def stream():
        def body():
            yield "a-{};".format(current_request().request_id)
            yield "b-{}".format(current_request().request_id)
        return flask.Response(body())

    init_app(app, on_complete=records)
    return app, seen


def test_id_from_header_echoed_and_route_template(records):
    app, seen = make_app(records)
    client = app.test_client()
    answer = client.get("/items/7", headers={"X-Request-ID": "abc-123"})
    assert answer.status_code == 200
    assert answer.json == {"id": "abc-123", "route": "/items/<int:item_id>", "item": 7}
    assert answer.headers["X-Request-ID"] == "abc-123"
    record, = records.wait(1)
    assert (record["request_id"], record["method"], record["path"], record["route"], record["status"],
            record["error"]) == ("abc-123", "GET", "/items/7", "/items/<int:item_id>", 200, None)
    assert record["end_unix_ns"] >= record["start_unix_ns"] and record["duration_seconds"] >= 0
    assert record["peak_memory_bytes"] == 100 * 1024 * 1024 and record["peak_complete"]


def test_a_new_uuid_without_a_header(records):
    app, _ = make_app(records)
    answer = app.test_client().get("/items/1")
    rid = answer.json["id"]
    assert uuid.UUID(rid).version == 4
    assert answer.headers["X-Request-ID"] == rid


def test_drum_request_id_is_the_same_id(records, monkeypatch):
    """DRUM sets its ctx_request_id in before_request from HTTP_X_REQUEST_ID or a uuid4: the
    middleware puts its id there first, so DRUM's and ours agree."""
    common = types.ModuleType("datarobot_drum.drum.common")
    common.ctx_request_id = contextvars.ContextVar("request_id")
    monkeypatch.setitem(sys.modules, "datarobot_drum.drum.common", common)
    app = flask.Flask("drumlike")
    app.test_client_class = BufferedClient

    @app.before_request
    def drum_before_request():  # what DRUM's server.before_request does
        flask.g.token = common.ctx_request_id.set(
            flask.request.environ.get("HTTP_X_REQUEST_ID") or str(uuid.uuid4()))

    @app.route("/predict/")
    def predict():
        return {"drum": common.ctx_request_id.get(None), "ours": current_request().request_id}

    init_app(app, on_complete=records)
    answer = app.test_client().get("/predict/")
    assert answer.json["drum"] == answer.json["ours"] == answer.headers["X-Request-ID"]


def test_drum_request_id_already_set_in_the_context_wins_over_a_new_uuid(monkeypatch):
    from drum_monitor_client.request_info import choose_request_id

    common = types.ModuleType("datarobot_drum.drum.common")
    common.ctx_request_id = contextvars.ContextVar("request_id")
    monkeypatch.setitem(sys.modules, "datarobot_drum.drum.common", common)
    token = common.ctx_request_id.set("drum-id")
    try:
        assert choose_request_id(None) == "drum-id"
        assert choose_request_id("header-id") == "header-id"
    finally:
        common.ctx_request_id.reset(token)
    monkeypatch.delitem(sys.modules, "datarobot_drum.drum.common")
    assert uuid.UUID(choose_request_id(None)).version == 4


def test_unhandled_error_is_500_with_the_error(records):
    for testing in (True, False):
        app, _ = make_app(records, testing=testing)
        client = app.test_client()
        if testing:  # Flask propagates in testing mode: the middleware still records it
            with pytest.raises(ValueError):
                client.get("/boom", headers={"X-Request-ID": "boom-{}".format(testing)})
        else:
            assert client.get("/boom", headers={"X-Request-ID": "boom-{}".format(testing)}).status_code == 500
    by_id = {r["request_id"]: r for r in records.wait(2)}
    for testing in (True, False):
        record = by_id["boom-{}".format(testing)]
        assert record["status"] == 500
        assert record["error"] == "ValueError: kaboom"
        assert record["route"] == "/boom"


def test_handled_error_keeps_its_status_and_the_error(records):
    app, _ = make_app(records)
    answer = app.test_client().get("/teapot")
    assert answer.status_code == 418
    record, = records.wait(1)
    assert record["status"] == 418 and record["error"] == "Teapot: short and stout"


def test_not_found_has_no_route_and_no_error(records):
    app, _ = make_app(records)
    assert app.test_client().get("/nowhere").status_code == 404
    record, = records.wait(1)
    assert (record["status"], record["route"], record["error"]) == (404, None, None)


def test_no_leak_into_the_next_request_or_the_thread(records):
    app, seen = make_app(records)
    client = app.test_client()
    client.get("/items/1", headers={"X-Request-ID": "first"})
    first = seen["inside"]
    assert current_request() is None  # the test client runs the app in this thread
    client.get("/items/2", headers={"X-Request-ID": "second"})
    assert seen["inside"] is not first and seen["inside"].request_id == "second"
    assert current_request() is None


def test_streaming_ends_after_the_body_and_sees_the_request(records):
    app, _ = make_app(records)
    client = app.test_client()
    answer = client.get("/stream", headers={"X-Request-ID": "s1"}, buffered=False)
    assert answer.status_code == 200
    # Not ended before the body has been sent.
    assert records.items == []
    assert b"".join(answer.response) == b"a-s1;b-s1"
    answer.close()
    record, = records.wait(1)
    assert record["request_id"] == "s1" and record["status"] == 200
    assert current_request() is None


def test_init_app_twice_is_a_no_op(records):
    app, _ = make_app(records)
    wrapped = app.wsgi_app
    init_app(app, on_complete=records)
    assert app.wsgi_app is wrapped


def test_werkzeug_forking_server_requests_resolve_at_once(records, monkeypatch):
    calls = []
    monkeypatch.setattr(recorder.PeakResolver, "resolve_now", lambda self, info, sink: calls.append(info))
    app, _ = make_app(records)
    environ = {"wsgi.multiprocess": True, "wsgi.multithread": False, "SERVER_SOFTWARE": "Werkzeug/3.1"}
    app.test_client().get("/items/3", environ_overrides=environ)
    assert [i.path for i in calls] == ["/items/3"]


def test_gevent_greenlets_each_have_their_own():
    pytest.importorskip("gevent")
    import os
    import subprocess

    script = os.path.join(os.path.dirname(__file__), "scripts", "gevent_requests.py")
    done = subprocess.run([sys.executable, script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    assert done.stdout.decode().strip().splitlines()[-1:] == ["ok"], done.stdout.decode()
