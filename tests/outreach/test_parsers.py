"""What staff type: durations for the clock and segments as JSON; and quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konsulta.quiet import QuietHours
from outreach.durations import DurationError, format_duration, parse_duration
from storage.segments import SegmentError, parse_segment


def test_durations_read_the_way_staff_write_them() -> None:
    assert parse_duration("14d") == timedelta(days=14)
    assert parse_duration(" 2h30m ") == timedelta(hours=2, minutes=30)
    assert parse_duration("1w1s") == timedelta(weeks=1, seconds=1)
    for wrong in ("", "14", "d", "2x", "1d-1h", "1.5d", "soon", "1d two"):
        with pytest.raises(DurationError):
            parse_duration(wrong)


@given(st.integers(min_value=0, max_value=10**9))
def test_a_printed_duration_reads_back_the_same(seconds: int) -> None:
    delta = timedelta(seconds=seconds)
    assert parse_duration(format_duration(delta)) == delta


@given(st.text(max_size=30))
def test_any_text_is_a_duration_or_a_clear_refusal(text: str) -> None:
    try:
        parsed = parse_duration(text)
    except DurationError as error:
        assert "duration" in str(error) or "too long" in str(error)
    else:
        assert parsed >= timedelta(0)


def test_segments_are_data_with_one_operator_per_node() -> None:
    segment = parse_segment(
        {
            "all": [
                {"consultation": "service-need", "completed": True},
                {"language": "uk"},
                {"not": {"answer": {"step": "district", "in": ["north", "east"]}}},
                {"any": [{"community": 3}, {"leader": 7}, {"never_answered": True}]},
            ]
        }
    )
    assert segment.consultations() == {"service-need"}
    assert parse_segment(segment.to_json()) == segment
    for wrong in (
        {},
        {"everyone": True, "language": "pl"},
        {"completed": True},
        {"answer": {"step": "x"}},
        {"answer": {"step": "x", "equals": 1, "in": [1]}},
        {"all": []},
        {"district": "north"},
        {"everyone": False},
        [],
        "everyone",
    ):
        with pytest.raises(SegmentError):
            parse_segment(wrong)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["all", "any", "not", "everyone", "language", "answer", "step", "equals", "x"]
            ),
            inner,
            max_size=3,
        )
    ),
    max_leaves=12,
)


@given(json_values)
def test_any_json_is_a_segment_or_a_segment_error(data: Any) -> None:
    try:
        segment = parse_segment(data)
    except SegmentError:
        return
    assert len(segment.operators()) == 1
    assert parse_segment(segment.to_json()) == segment


def test_quiet_hours_cross_midnight_in_the_citizens_own_timezone() -> None:
    quiet = QuietHours(time(21), time(8), "Europe/Warsaw")
    noon_utc = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # 12:00 in Warsaw
    assert quiet.deferred_until(noon_utc, "Europe/Warsaw") is None
    late = datetime(2026, 12, 1, 21, 30, tzinfo=UTC)  # 22:30 in Warsaw
    assert quiet.deferred_until(late, "Europe/Warsaw") == datetime(2026, 12, 2, 7, tzinfo=UTC)
    early = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)  # 06:00 in Warsaw, 07:00 in Kyiv
    assert quiet.deferred_until(early, "Europe/Warsaw") == datetime(2026, 12, 2, 7, tzinfo=UTC)
    assert quiet.deferred_until(early, "Europe/Kyiv") == datetime(2026, 12, 2, 6, tzinfo=UTC)
    # In New York it is midnight: wait for 08:00 there; an unknown zone means the default.
    assert quiet.deferred_until(early, "America/New_York") == datetime(2026, 12, 2, 13, tzinfo=UTC)
    assert quiet.deferred_until(noon_utc, "Mars/Olympus") is None
    assert QuietHours(time(0), time(0)).deferred_until(late, "UTC") is None
