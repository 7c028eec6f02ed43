"""Concurrent requests on gevent greenlets (as DRUM's gevent worker): each greenlet sees its own
RequestInfo, across a cooperative switch in the middle of the handler. Prints "ok" or the problem."""
from gevent import monkey

monkey.patch_all()

import http.client  # noqa: E402
import json  # noqa: E402

import flask  # noqa: E402
import gevent  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

from drum_monitor_client import current_request  # noqa: E402
from drum_monitor_client.flask import init_app  # noqa: E402

app = flask.Flask("gevent")


@app.route("/work/<name>")
def work(name):
    before = current_request().request_id
    gevent.sleep(0.02)  # yield to the other greenlets mid-request
    return {"before": before, "after": current_request().request_id, "route": current_request().route}


init_app(app)
server = WSGIServer(("127.0.0.1", 0), app, log=None)
server.start()
port = server.server_port


def ask(n):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/work/{}".format(n), headers={"X-Request-ID": "greenlet-{}".format(n)})
    answer = connection.getresponse()
    body = json.loads(answer.read())
    return n, body, answer.getheader("X-Request-ID")


jobs = [gevent.spawn(ask, n) for n in range(40)]
gevent.joinall(jobs, timeout=30)
problems = []
for job in jobs:
    if not job.successful():
        problems.append("failed: {!r}".format(job.exception))
        continue
    n, body, header = job.value
    want = "greenlet-{}".format(n)
    if (body["before"], body["after"], header, body["route"]) != (want, want, want, "/work/<name>"):
        problems.append("request {}: {} header {}".format(n, body, header))
if current_request() is not None:
    problems.append("the main greenlet sees a request")
server.stop()
print("ok" if not problems else "\n".join(problems))
