"""Client for the drum-monitor daemon, a drop-in for DRUM's ResourceMonitor, and request
metadata for Flask and ASGI apps. Standard library only.

- :class:`Client`: every endpoint of the daemon over its Unix socket.
- :class:`ResourceMonitor`: DRUM's ``ResourceMonitor`` answering from the daemon.
- :func:`current_request`: the :class:`RequestInfo` of the request being handled (after
  ``drum_monitor_client.flask.init_app(app)`` or the ``drum_monitor_client.asgi`` middleware).
- ``DRUM_MONITOR_PATCH=1``: switches DRUM over without changing it (see :mod:`.patch`).
"""
from .client import DEFAULT_TIMEOUT, Client, default_socket_paths, shared_client
from .errors import DaemonError, DaemonUnavailable, DrumMonitorError
from .request_info import RequestInfo, current_request
from .resource_monitor import ResourceMonitor

__version__ = "0.1.0"

__all__ = [
    "Client",
    "DaemonError",
    "DaemonUnavailable",
    "DrumMonitorError",
    "DEFAULT_TIMEOUT",
    "RequestInfo",
    "ResourceMonitor",
    "current_request",
    "default_socket_paths",
    "shared_client",
]
