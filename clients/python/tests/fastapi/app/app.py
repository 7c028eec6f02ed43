"""The FastAPI tier's app: DRUM-style /stats/ from the drop-in, ids, and an allocation held
for a number of the daemon's sampling intervals (counted by its sample sequence numbers)."""
import asyncio
import os

from fastapi import FastAPI

from drum_monitor_client import Client, ResourceMonitor, current_request
from drum_monitor_client.asgi import init_app

MiB = 1024 * 1024
app = FastAPI()
init_app(app, jsonl_path=os.environ.get("APP_REQUESTS_JSONL"))
monitor = ResourceMonitor(monitor_current_process=True)


@app.get("/stats/")
def stats():  # sync: runs in the threadpool
    return dict(monitor.collect_resources_info(), pid=os.getpid(),
                request_id=current_request().request_id)


@app.get("/ids/{name}")
async def ids(name: str):
    before = current_request().request_id
    await asyncio.sleep(0.01)  # let the other requests of this worker run in between
    return {"before": before, "after": current_request().request_id, "route": current_request().route,
            "pid": os.getpid()}


@app.get("/hold")
async def hold(mib: int, intervals: int):
    """Allocates `mib` MiB (pages written) and keeps them until the daemon has taken
    `intervals` more samples."""
    client = Client(timeout=5)
    first = client.snapshot()["sequence"]
    data = b"\x01" * (mib * MiB)
    while client.snapshot()["sequence"] < first + intervals + 1:
        await asyncio.sleep(0.005)
    held = len(data)
    del data
    return {"held": held, "pid": os.getpid()}
