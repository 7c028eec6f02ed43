"""Minimal DRUM unstructured model used by the drum-monitor "real DRUM" test tier.

POST /predictUnstructured/ with any body returns a short text answer.
Optional commands in the request body (for tests):
  "alloc:<MiB>"    the handling process allocates and holds that many MiB (module-level
                   list, so it persists in gunicorn workers / the werkzeug single process)
  "sleep:<secs>"   the handling process sleeps that long (float, capped at 600) before answering
"""
import os
import time

_held = []


def load_model(code_dir):
    # Must return something other than None, otherwise DRUM looks for a model artifact.
    return {"name": "drum-monitor-test-model", "code_dir": code_dir}


def score_unstructured(model, data, **kwargs):
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    data = data or ""
    if data.startswith("alloc:"):
        try:
            mib = int(data.split(":", 1)[1].strip())
        except ValueError:
            mib = 0
        if mib > 0:
            _held.append(bytearray(b"\x01" * (mib * 1024 * 1024)))
        return "allocated {} MiB in pid {} (held {} MiB)".format(
            mib, os.getpid(), sum(len(b) for b in _held) // (1024 * 1024)
        )
    if data.startswith("sleep:"):
        try:
            secs = min(max(float(data.split(":", 1)[1].strip()), 0.0), 600.0)
        except ValueError:
            secs = 0.0
        time.sleep(secs)
        return "slept {} s in pid {}".format(secs, os.getpid())
    return "ok pid={} len={}".format(os.getpid(), len(data))
