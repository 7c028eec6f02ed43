"""The documented rule for a request's peak, on rows of ``/v1/samples``: the tests' oracle for
the fake daemon's windows and for the real daemon's.

A sample taken at t stands for the time since the sample before it, (t_prev, t] (what its
interval peak measures), or (t − interval, t] when the sample before it is not held. It covers
[start, end] if that interval overlaps it: t ≥ start and t_prev < end. The history holds all of
[start, end] when the first covering sample's interval reaches back to start (or the sample
before it is held), the last was taken at or after end (or the sample after it is held), and no
sequence is missing in between. The daemon's window ``?from=F&to=T`` is this rule for
[F + 1 ns, T]. (The daemon also allows for wall-clock steps and restarts, which rows of
``/v1/samples`` do not show: the scenes using this oracle have neither.)
"""
from typing import Any, Dict, List, NamedTuple, Optional, Sequence

from drum_monitor_client.peaks import Peak


class Row(NamedTuple):
    sequence: int
    time_ns: int
    generation: int
    interval_peak: Optional[int]
    exact: Optional[int]


def rows_from_samples(document: Dict[str, Any]) -> List[Row]:
    index = {name: i for i, name in enumerate(document["fields"])}

    def column(row: List[Any], name: str) -> Any:
        i = index.get(name)
        return row[i] if i is not None else None

    return [Row(column(r, "sequence"), column(r, "time_unix_ns"), column(r, "generation"),
                None if column(r, "memory_interval_peak_bytes") is None else int(column(r, "memory_interval_peak_bytes")),
                None if column(r, "memory_interval_peak_exact") is None else int(column(r, "memory_interval_peak_exact")))
            for r in document["samples"]]


def interval_start(rows: Sequence[Row], k: int, interval_ns: int) -> int:
    """Where row k's interval begins: the sample before it, if held, else one interval back."""
    if k > 0 and rows[k - 1].sequence == rows[k].sequence - 1:
        return rows[k - 1].time_ns
    return rows[k].time_ns - interval_ns


def covering(rows: Sequence[Row], interval_ns: int, start_ns: int, end_ns: int) -> List[Row]:
    return [r for k, r in enumerate(rows) if r.time_ns >= start_ns and interval_start(rows, k, interval_ns) < end_ns]


def covered(rows: Sequence[Row], interval_ns: int, start_ns: int, end_ns: int) -> bool:
    found = covering(rows, interval_ns, start_ns, end_ns)
    if not found:
        return False
    first, last = rows.index(found[0]), rows.index(found[-1])
    start_held = found[0].time_ns - interval_ns < start_ns or (
        first > 0 and rows[first - 1].sequence == found[0].sequence - 1)
    end_held = found[-1].time_ns >= end_ns or (
        last + 1 < len(rows) and rows[last + 1].sequence == found[-1].sequence + 1)
    no_gap = all(b.sequence == a.sequence + 1 for a, b in zip(found, found[1:]))
    return start_held and end_held and no_gap


def expected_peak(rows: Sequence[Row], interval_ns: int, start_ns: int, end_ns: int) -> Peak:
    found = covering(rows, interval_ns, start_ns, end_ns)
    values = [r.interval_peak for r in found if r.interval_peak is not None]
    if not values:
        return Peak(None, False, False, len(found))
    complete = (covered(rows, interval_ns, start_ns, end_ns) and len(values) == len(found)
                and len({r.generation for r in found}) == 1)
    exact = complete and all(r.exact == 1 for r in found)
    return Peak(max(values), complete, exact, len(found))
