"""The cgroup's peak memory over a request, from the daemon's range window (pure functions).

A sample taken at t stands for (t − interval, t]; it covers a request if that interval
overlaps [start, end]: t ≥ start and t − interval < end. The daemon's ``/v1/window?from=&to=``
holds every sample with from < t and t − interval < to; times are whole nanoseconds, so asking
for from = start − 1 ns, to = end gives exactly the samples covering [start, end]
(:func:`window_range`). The request's peak is the largest interval peak among them
(:func:`peak_from_window`).
"""
from typing import Any, Dict, NamedTuple, Optional, Tuple

INTERVAL_PEAK = "memory_interval_peak_bytes"
INTERVAL_PEAK_EXACT = "memory_interval_peak_exact"


class Peak(NamedTuple):
    bytes: Optional[int]
    # The covering samples span the whole request, each with an interval peak, with no gap
    # and one generation (one DRUM root watched throughout).
    complete: bool
    # The value is the true peak over those samples (otherwise a lower bound).
    exact: bool
    samples: int


NO_PEAK = Peak(None, False, False, 0)


def window_range(start_ns: int, end_ns: int) -> Tuple[int, int]:
    """``(from_ns, to_ns)`` of the window holding exactly the samples covering [start, end]."""
    return max(0, start_ns - 1), max(start_ns, end_ns)


def _whole(value: Any) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def peak_from_window(document: Dict[str, Any]) -> Peak:
    """The request's peak from the daemon's answer to its :func:`window_range` window.

    ``complete``: the window is ``covered`` (the history held all of it: nothing before the
    oldest sample, after the newest, or while the daemon was down), its oldest and newest
    samples are of one generation (generations never go back, so every sample between is of it
    too), and every sample in it has an interval peak. ``exact``: complete, and every sample's
    interval peak was exact (``memory_interval_peak_exact`` present in all of them, its minimum
    1). A daemon that does not say a window's generations or samples' exactness gives neither.
    Raises ValueError for an answer that is not a window.
    """
    window = document.get("window")
    fields = document.get("fields")
    if not isinstance(window, dict) or not isinstance(fields, dict):
        raise ValueError("a /v1/window answer needs 'window' and 'fields' objects")
    samples = _whole(window.get("samples")) or 0
    peak = fields.get(INTERVAL_PEAK)
    peak = peak if isinstance(peak, dict) else {}
    value = _whole(peak.get("max"))
    if value is None:
        return Peak(None, False, False, samples)
    first, last = _whole(window.get("from_generation")), _whole(window.get("to_generation"))
    complete = (window.get("covered") is True and samples > 0 and _whole(peak.get("count")) == samples
                and first is not None and first == last)
    flags = fields.get(INTERVAL_PEAK_EXACT)
    flags = flags if isinstance(flags, dict) else {}
    exact = complete and _whole(flags.get("count")) == samples and flags.get("min") == 1
    return Peak(value, complete, exact, samples)
