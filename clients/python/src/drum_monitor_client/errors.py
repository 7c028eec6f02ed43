"""The client's errors: the daemon cannot be reached, or it answered with an error status."""
from typing import Optional


class DrumMonitorError(Exception):
    """Base class of every error this package raises."""


class DaemonUnavailable(DrumMonitorError):
    """The daemon could not be asked: no socket, refused, permission denied, timeout, closed, or
    an answer that is not the daemon's HTTP/JSON.

    ``reason`` is one of ``no_socket``, ``refused``, ``permission_denied``, ``timeout``,
    ``closed``, ``protocol``, ``os_error``; ``socket_path`` is the socket that was tried.
    """

    def __init__(self, message: str, reason: str, socket_path: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.socket_path = socket_path


class DaemonError(DrumMonitorError):
    """The daemon answered an error status; ``message`` is its JSON ``error`` text."""

    def __init__(self, status: int, message: str, path: str) -> None:
        super().__init__("drum-monitor answered {} to GET {}: {}".format(status, path, message))
        self.status = status
        self.message = message
        self.path = path


def describe(error: Optional[BaseException]) -> str:
    """One line for logs: the exception type and message."""
    if error is None:
        return ""
    text = str(error)
    return "{}: {}".format(type(error).__name__, text) if text else type(error).__name__
