"""The peak algorithm on synthetic samples: a sample at t stands for (t_prev, t] (or
(t − interval, t]), and covers a request if that overlaps [start, end]."""
from drum_monitor_client.peaks import SampleRow, parse_samples, peak_over, sampled_past, spans

I = 100  # interval (ns, scaled down)


def rows(values, start_sequence=11, t0=1000, lifetime=None, generation=1, exact=None):
    """One sample per interval at t0, t0+I, ...; values are the interval peaks."""
    out = []
    running = 0
    for i, value in enumerate(values):
        running = max(running, value or 0)
        out.append(SampleRow(start_sequence + i, t0 + i * I, generation, value,
                             lifetime[i] if lifetime is not None else running,
                             exact[i] if exact is not None else None))
    return out


def test_spans_use_the_previous_sample_or_the_interval():
    r = rows([1, 2, 3], start_sequence=2)
    r[2] = r[2]._replace(time_ns=r[2].time_ns + 7)  # a late tick: the span stretches
    assert spans(r, I) == [(900, 1000), (1000, 1100), (1100, 1207)]
    gap = [r[0], r[2]._replace(sequence=9)]
    assert spans(gap, I) == [(900, 1000), (1107, 1207)]


def test_the_daemons_first_sample_covers_nothing_before_it():
    r = rows([10, 20], start_sequence=1, t0=1000)
    assert spans(r, I)[0] == (1000, 1000)
    # A request before the daemon's first sample is not covered by it.
    assert not peak_over(r, I, 950, 1050).complete
    assert peak_over(r, I, 1001, 1050).complete


def test_a_request_inside_one_interval_takes_that_sample():
    r = rows([10, 50, 20])
    peak = peak_over(r, I, 1020, 1080)  # inside (1000, 1100]
    assert (peak.bytes, peak.complete, peak.samples) == (50, True, 1)


def test_only_overlapping_samples_count_not_what_came_after():
    r = rows([10, 20, 30, 999])
    peak = peak_over(r, I, 1010, 1150)  # (1000,1100] and (1100,1200]
    assert peak.bytes == 30 and peak.samples == 2 and peak.complete
    # A request ending exactly at a sample's time is covered by it, not by the next.
    assert peak_over(r, I, 1010, 1100).bytes == 20


def test_the_start_boundary():
    r = rows([10, 20, 30])
    # start == 1000 lies in (900, 1000]: the first sample covers it.
    assert peak_over(r, I, 1000, 1050).samples == 2
    assert peak_over(r, I, 1001, 1050).samples == 1


def test_complete_needs_a_sample_past_the_end():
    r = rows([10, 20])
    peak = peak_over(r, I, 1050, 1150)
    assert peak.bytes == 20 and not peak.complete
    assert not sampled_past(r, 1150) and sampled_past(r, 1100)


def test_complete_needs_the_start_covered():
    r = rows([10, 20], start_sequence=5, t0=1000)
    # The first known sample's span begins at 900 (nominal): a request from 850 is not covered.
    assert not peak_over(r, I, 850, 1050).complete
    assert peak_over(r, I, 950, 1050).complete


def test_a_gap_in_sequences_is_incomplete():
    r = rows([10, 20, 30, 40])
    gapped = [r[0], r[1], r[3]._replace(sequence=9)]
    peak = peak_over(gapped, I, 950, 1350)
    assert peak.bytes == 40 and not peak.complete and not peak.exact


def test_a_generation_change_is_incomplete():
    r = rows([10, 20])
    r[1] = r[1]._replace(generation=2)
    assert not peak_over(r, I, 950, 1050).complete


def test_a_missing_interval_peak_is_incomplete_but_the_rest_counts():
    r = rows([10, None, 30])
    peak = peak_over(r, I, 950, 1150)
    assert peak.bytes == 30 and not peak.complete


def test_nothing_covering():
    assert peak_over([], I, 0, 10) == (None, False, False, 0)
    assert peak_over(rows([5]), I, 5000, 6000).bytes is None


def test_exact_when_the_peak_reaches_the_lifetime_peak():
    # v1-style: the lifetime peak rose to 50 inside the request: 50 is exact.
    r = rows([10, 50, 20], lifetime=[10, 50, 50])
    peak = peak_over(r, I, 950, 1150)
    assert peak.bytes == 50 and peak.exact


def test_not_exact_when_an_older_lifetime_peak_is_higher():
    # The lifetime peak (900, from before the request) bounds nothing useful: the 20 is a lower bound.
    r = rows([10, 20, 15], lifetime=[900, 900, 900])
    peak = peak_over(r, I, 950, 1150)
    assert peak.bytes == 20 and peak.complete and not peak.exact


def test_exact_when_the_daemon_flags_every_sample():
    r = rows([10, 20, 15], lifetime=[900, 900, 900], exact=[True, True, True])
    assert peak_over(r, I, 950, 1150).exact
    r = rows([10, 20, 15], lifetime=[900, 900, 900], exact=[True, False, True])
    assert not peak_over(r, I, 950, 1150).exact


def test_a_lifetime_peak_that_went_down_was_reset():
    r = rows([10, 50, 20], lifetime=[60, 50, 50])
    assert not peak_over(r, I, 950, 1150).exact


def test_parse_samples_by_column_name():
    document = {
        "truncated": False, "next_since": 8,
        "fields": ["sequence", "time_unix_ns", "generation", "memory_current_bytes", "memory_peak_bytes",
                   "memory_interval_peak_bytes", "tree_cpu_cores"],
        "samples": [[8, 2000, 1, 5, 70.0, 60, 0.5], [7, 1900, 1, 5, 70, None, 0.1], "junk", [None, 1]],
    }
    page = parse_samples(document)
    assert page.next_since == 8 and not page.truncated
    assert page.rows == [SampleRow(7, 1900, 1, None, 70, None), SampleRow(8, 2000, 1, 60, 70, None)]
    flagged = dict(document, fields=document["fields"] + ["memory_interval_peak_exact"],
                   samples=[[8, 2000, 1, 5, 70, 60, 0.5, True]])
    assert parse_samples(flagged).rows[0].interval_peak_exact is True


def test_parse_samples_rejects_what_is_not_a_samples_answer():
    import pytest

    with pytest.raises(ValueError):
        parse_samples({"samples": []})
    with pytest.raises(ValueError):
        parse_samples({"fields": ["time_unix_ns"], "samples": []})
