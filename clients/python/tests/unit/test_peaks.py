"""A request's peak from the daemon's range window: the window asked for holds exactly the
samples covering [start, end] (a sample at t stands for (t_prev, t], the time since the sample
before it), and complete and exact come from the window's answer."""
import random

import pytest

from drum_monitor_client.peaks import NO_PEAK, Peak, peak_from_window, window_range

from window_rule import Row, covering, interval_start

I = 100  # interval (ns, scaled down)


def daemon_window(rows, interval, from_ns, to_ns):
    """The daemon's documented membership for ?from=&to=: from < t and t_prev < to."""
    return [r for k, r in enumerate(rows) if from_ns < r.time_ns and interval_start(rows, k, interval) < to_ns]


def test_the_window_asked_for_is_exactly_the_covering_samples_at_every_edge():
    rng = random.Random(13)
    for _ in range(200):
        t, rows = 1000, []
        for sequence in range(1, 30):
            t += rng.choice([I, I, I - 3, I + 3, 2 * I])  # on time, early, late, a missed tick
            rows.append(Row(sequence, t, 1, 1, 1))
        times = [r.time_ns for r in rows]
        edges = [x + d for x in times for d in (-I - 1, -I, -I + 1, -1, 0, 1)]
        for _ in range(50):
            start, end = sorted((rng.choice(edges), rng.choice(edges)))
            from_ns, to_ns = window_range(start, end)
            assert daemon_window(rows, I, from_ns, to_ns) == covering(rows, I, start, end), (start, end)


def test_the_edges_of_one_sample():
    rows = [Row(1, 1000, 1, 5, 1), Row(2, 1100, 1, 7, 1), Row(3, 1200, 1, 9, 1)]
    # A request at the instant a sample was taken is covered by it: t is in (t − I, t].
    assert covering(rows, I, *window_range(1100, 1100)) == [rows[1]]
    assert daemon_window(rows, I, *window_range(1100, 1100)) == [rows[1]]
    # One nanosecond later belongs to the next sample only.
    assert daemon_window(rows, I, *window_range(1101, 1101)) == [rows[2]]
    # A request ending when the sample before was taken is before the sample's interval; a
    # nanosecond later is in it.
    assert daemon_window(rows, I, *window_range(950, 1000)) == [rows[0]]
    assert daemon_window(rows, I, *window_range(950, 1001)) == rows[:2]
    # The first held sample stands for (t − interval, t].
    assert daemon_window(rows, I, *window_range(900, 900)) == []
    assert daemon_window(rows, I, *window_range(901, 901)) == [rows[0]]


def test_a_late_tick_stands_for_the_time_since_the_sample_before():
    rows = [Row(1, 1000, 1, 5, 1), Row(2, 1150, 1, 7, 1), Row(3, 1200, 1, 9, 1)]
    # (1000, 1050] is in no nominal interval (1150 − 100 = 1050): sample 2 measured it.
    assert covering(rows, I, 1010, 1040) == [rows[1]]
    assert daemon_window(rows, I, *window_range(1010, 1040)) == [rows[1]]
    # Sample 3, early after it, stands for (1150, 1200] only.
    assert covering(rows, I, 1120, 1140) == [rows[1]]


def test_window_range_never_goes_before_the_epoch_or_backwards():
    assert window_range(0, 0) == (0, 0)
    assert window_range(10, 5) == (9, 10)  # a wall clock stepped back during the request


def answer(samples=3, covered=True, generations=(1, 1), peak_max=50, peak_count=None, exact_min=1, exact_count=None):
    return {
        "window": {"samples": samples, "covered": covered, "from_sequence": 1 if samples else None,
                   "to_sequence": samples or None, "from_generation": generations[0], "to_generation": generations[1]},
        "fields": {
            "memory_interval_peak_bytes": {"max": peak_max, "min": 1, "count": samples if peak_count is None else peak_count},
            "memory_interval_peak_exact": {"max": 1, "min": exact_min,
                                           "count": samples if exact_count is None else exact_count},
            "memory_current_bytes": {"max": 9, "min": 1, "count": samples},
        },
    }


def test_complete_and_exact():
    assert peak_from_window(answer()) == Peak(50, True, True, 3)


def test_a_lower_bound_in_any_sample_is_not_exact():
    assert peak_from_window(answer(exact_min=0)) == Peak(50, True, False, 3)
    # A sample without the flag (an older daemon's, or one adopted from before it existed).
    assert peak_from_window(answer(exact_count=2)) == Peak(50, True, False, 3)


def test_not_covered_is_incomplete():
    assert peak_from_window(answer(covered=False)) == Peak(50, False, False, 3)


def test_two_generations_are_incomplete():
    assert peak_from_window(answer(generations=(1, 2))) == Peak(50, False, False, 3)


def test_a_daemon_that_does_not_say_the_generations_gives_no_complete_peak():
    document = answer()
    del document["window"]["from_generation"], document["window"]["to_generation"]
    assert peak_from_window(document) == Peak(50, False, False, 3)


def test_a_sample_without_an_interval_peak_is_incomplete_but_the_rest_counts():
    assert peak_from_window(answer(peak_count=2)) == Peak(50, False, False, 3)


def test_nothing_covering():
    assert peak_from_window(answer(samples=0, peak_max=None, peak_count=0, covered=False,
                                   generations=(None, None))) == Peak(None, False, False, 0)
    assert peak_from_window(answer(peak_max=None, peak_count=0)) == Peak(None, False, False, 3)
    assert NO_PEAK == Peak(None, False, False, 0)


def test_what_is_not_a_window_answer():
    with pytest.raises(ValueError):
        peak_from_window({"window": {}})
    with pytest.raises(ValueError):
        peak_from_window({"fields": {}, "window": []})
    # Missing fields: no peak, never an exception from deep inside.
    assert peak_from_window({"window": {}, "fields": {}}) == Peak(None, False, False, 0)
