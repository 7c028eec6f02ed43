"""The cgroup's peak memory over a request, from the daemon's samples (pure functions).

A sample stands for the interval since the previous sample, (t_prev, t]; when the previous
sample is not known, (t − interval, t]. That is what the daemon's interval peak measures (the
nominal interval differs from t − t_prev only by timer jitter and missed ticks); the daemon's
first sample (sequence 1) watched nothing before it. A sample covers
a request if its interval overlaps [start, end]; the request's peak is the largest interval peak
of the samples covering it.
"""
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple


class SampleRow(NamedTuple):
    sequence: int
    time_ns: int
    generation: int
    interval_peak: Optional[int]
    # The cgroup's lifetime peak at this sample (an upper bound on everything before it).
    lifetime_peak: Optional[int]
    # Set when the daemon says per sample whether the interval peak is exact.
    interval_peak_exact: Optional[bool] = None


class Peak(NamedTuple):
    bytes: Optional[int]
    # The covering samples span the whole request, with no gap and one generation.
    complete: bool
    # The value is the true peak over those samples (otherwise a lower bound).
    exact: bool
    samples: int


NO_PEAK = Peak(None, False, False, 0)


def spans(rows: Sequence[SampleRow], interval_ns: int) -> List[Tuple[int, int]]:
    """(lo, hi] for each row: since the previous row when it is the previous sample, else
    the nominal interval; the daemon's first sample stands for its instant only."""
    result = []
    previous: Optional[SampleRow] = None
    for row in rows:
        if previous is not None and previous.sequence == row.sequence - 1:
            lo = previous.time_ns
        elif row.sequence <= 1:
            lo = row.time_ns  # the daemon's first sample: it watched nothing before it
        else:
            lo = row.time_ns - interval_ns
        result.append((lo, row.time_ns))
        previous = row
    return result


def sampled_past(rows: Sequence[SampleRow], end_ns: int) -> bool:
    """Whether the daemon has sampled at or after ``end_ns`` (the request can be resolved)."""
    return bool(rows) and rows[-1].time_ns >= end_ns


def peak_over(rows: Sequence[SampleRow], interval_ns: int, start_ns: int, end_ns: int) -> Peak:
    """The peak over [start_ns, end_ns] from ``rows`` (sorted by sequence)."""
    covering = [(row, lo, hi) for row, (lo, hi) in zip(rows, spans(rows, interval_ns))
                if lo < end_ns and hi >= start_ns]
    values = [row.interval_peak for row, _, _ in covering if row.interval_peak is not None]
    if not values:
        return Peak(None, False, False, len(covering))
    peak = max(values)
    first, last = covering[0], covering[-1]
    complete = (
        len(values) == len(covering)
        and first[1] < start_ns
        and last[2] >= end_ns
        and all(b[0].sequence == a[0].sequence + 1 for a, b in zip(covering, covering[1:]))
        and len({row.generation for row, _, _ in covering}) == 1
    )
    exact = complete and (_all_flagged_exact(covering) or _bounded_by_lifetime_peak(covering, peak))
    return Peak(peak, complete, exact, len(covering))


def _all_flagged_exact(covering: Sequence[Tuple[SampleRow, int, int]]) -> bool:
    return all(row.interval_peak_exact is True for row, _, _ in covering)


def _bounded_by_lifetime_peak(covering: Sequence[Tuple[SampleRow, int, int]], peak: int) -> bool:
    # The lifetime peak at the last sample bounds every value before it (if it was not reset in
    # between: it never decreases). When the largest interval peak reaches it, it is exact.
    lifetime = [row.lifetime_peak for row, _, _ in covering]
    if any(value is None for value in lifetime):
        return False
    return all(a <= b for a, b in zip(lifetime, lifetime[1:])) and peak == lifetime[-1]  # type: ignore[operator]


class SamplesPage(NamedTuple):
    rows: List[SampleRow]
    next_since: int
    truncated: bool


def _whole(value: Any) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def parse_samples(document: Dict[str, Any]) -> SamplesPage:
    """Rows from a ``/v1/samples`` answer (columns found by name in ``fields``)."""
    fields = document.get("fields")
    samples = document.get("samples")
    if not isinstance(fields, list) or not isinstance(samples, list):
        raise ValueError("a /v1/samples answer needs 'fields' and 'samples' lists")
    index = {name: i for i, name in enumerate(fields) if isinstance(name, str)}
    for required in ("sequence", "time_unix_ns"):
        if required not in index:
            raise ValueError("/v1/samples has no '{}' column".format(required))

    def column(row: List[Any], name: str) -> Any:
        i = index.get(name)
        return row[i] if i is not None and i < len(row) else None

    rows = []
    for raw in samples:
        if not isinstance(raw, list):
            continue
        sequence, time_ns = _whole(column(raw, "sequence")), _whole(column(raw, "time_unix_ns"))
        if sequence is None or time_ns is None:
            continue
        exact = column(raw, "memory_interval_peak_exact")
        rows.append(SampleRow(
            sequence, time_ns, _whole(column(raw, "generation")) or 0,
            _whole(column(raw, "memory_interval_peak_bytes")), _whole(column(raw, "memory_peak_bytes")),
            bool(exact) if isinstance(exact, (bool, int)) and exact is not None else None))
    rows.sort(key=lambda r: r.sequence)
    next_since = _whole(document.get("next_since"))
    return SamplesPage(rows, next_since if next_since is not None else (rows[-1].sequence if rows else 0),
                       bool(document.get("truncated")))
