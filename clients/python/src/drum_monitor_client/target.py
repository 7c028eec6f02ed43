"""Is the daemon watching this server? Its data is used only then."""
import os
from typing import Any, Callable, Iterable, List, Mapping, Optional, Union

from .local import LocalReader

VerifyMode = Union[str, bool, None]
VERIFY_MODES = ("pid", "cmdline", "off")


def normalise_verify(verify: VerifyMode) -> str:
    """``"pid"`` (also ``True``), ``"cmdline"``, or ``"off"`` (also ``False``/``None``)."""
    if verify is True:
        return "pid"
    if verify is False or verify is None:
        return "off"
    if verify in VERIFY_MODES:
        return str(verify)
    raise ValueError("verify must be 'pid', 'cmdline' or False, got {!r}".format(verify))


def _cmdline_text(value: Any) -> Optional[str]:
    # /stats/ lists the command line as a list of strings, /v1/snapshot as one string.
    if isinstance(value, list):
        return " ".join(str(part) for part in value)
    if isinstance(value, str):
        return value
    return None


def watches_this_server(
    processes: Iterable[Mapping[str, Any]],
    verify: str,
    pid: Optional[int] = None,
    ppid: Optional[int] = None,
    cmdline_of: Optional[Callable[[int], Optional[List[str]]]] = None,
) -> bool:
    """Whether the tree the daemon reports (``processes``: dicts with ``pid`` and ``cmdline``)
    is this server's: this pid or its parent's is in it (``verify="pid"``; the parent covers
    werkzeug's per-request children); with ``verify="cmdline"`` (a daemon in another pid
    namespace) this process's or its parent's command line is; with ``"off"`` always.
    """
    if verify == "off":
        return True
    pid = os.getpid() if pid is None else pid
    ppid = os.getppid() if ppid is None else ppid
    listed = list(processes)
    if verify == "pid":
        pids = {p.get("pid") for p in listed}
        return pid in pids or ppid in pids
    read = cmdline_of or LocalReader().cmdline
    ours = set()
    for candidate in (pid, ppid):
        text = _cmdline_text(read(candidate))
        if text:
            ours.add(text)
    return any(_cmdline_text(p.get("cmdline")) in ours for p in listed)
