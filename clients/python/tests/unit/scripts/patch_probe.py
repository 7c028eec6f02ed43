"""Imports the (fake) DRUM modules and prints what the patch hook made of them, as JSON; also
from a forked child and from a spawned multiprocessing child."""
import json
import multiprocessing
import os
import sys


def probe(early_resource_monitor=False):
    if early_resource_monitor:
        import datarobot_drum.drum.resource_monitor  # noqa: F401
    from datarobot_drum.drum.root_predictors.prediction_server import PredictionServer
    import datarobot_drum.drum.resource_monitor as rm
    import datarobot_drum.drum.server as server

    monitor = PredictionServer()._resource_monitor
    app = server.create_flask_app()
    return {
        "class": type(monitor).__module__ + "." + type(monitor).__name__,
        "module_class": rm.ResourceMonitor.__module__ + "." + rm.ResourceMonitor.__name__,
        "scope": getattr(monitor, "scope", None),
        "flask_hooks": bool(getattr(app, "_drum_monitor_requests", False)),
        "pid": os.getpid(),
    }


def spawned(queue):
    queue.put(probe())


if __name__ == "__main__":
    result = {}
    # Forked before anything of DRUM is imported, as gunicorn forks its workers (no preload).
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read)
        os.write(write, json.dumps(probe()).encode())
        os._exit(0)
    os.close(write)
    result["forked"] = json.loads(os.read(read, 65536))
    os.waitpid(child, 0)
    result["main"] = probe(early_resource_monitor="--early" in sys.argv)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=spawned, args=(queue,))
    process.start()
    result["spawned"] = queue.get(timeout=60)
    process.join(60)
    print(json.dumps(result))
