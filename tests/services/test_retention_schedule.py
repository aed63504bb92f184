"""When a consultation's personal data goes: the rule on its own, no database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError

from dialogs.schema import Flow
from konsulta.publishing import read_flow
from konsulta.retention import add_months, contact_steps, schedule_of
from storage.models import Consultation, ConsultationStatus

FLOWS = Path(__file__).resolve().parents[2] / "dialogs" / "flows"


def service_need(**changes: object) -> Flow:
    flow, _yaml = read_flow(FLOWS / "service-need.yaml")
    return flow.model_copy(update=changes)


def test_months_are_added_as_a_calendar_would() -> None:
    assert add_months(dt.date(2026, 3, 1), 12) == dt.date(2027, 3, 1)
    assert add_months(dt.date(2027, 1, 31), 1) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2027, 11, 30), 3) == dt.date(2028, 2, 29)


def test_an_open_consultation_counts_from_its_flows_last_day_and_the_flow_may_keep_less() -> None:
    consultation = Consultation(status=ConsultationStatus.OPEN)
    plan = schedule_of(consultation, service_need(), dt.date(2026, 12, 6), 12)
    assert (plan.closes_on, plan.closed, plan.purge_on) == (
        dt.date(2027, 12, 31),
        False,
        dt.date(2028, 12, 31),
    )
    assert plan.contact_by == dt.date(2028, 1, 1)  # the first purge after the last day
    short = schedule_of(consultation, service_need(retention_months=3), dt.date(2028, 1, 1), 12)
    assert short.closed and short.purge_on == dt.date(2028, 3, 31)


def test_a_consultation_staff_closed_counts_from_the_closing() -> None:
    closed_at = dt.datetime(2026, 2, 1, 23, 30, tzinfo=dt.UTC)
    consultation = Consultation(status=ConsultationStatus.CLOSED, closed_at=closed_at)
    plan = schedule_of(consultation, service_need(closes=None), dt.date(2026, 2, 2), 12)
    assert plan.closed and plan.purge_on == dt.date(2027, 2, 1)
    assert plan.contact_by == dt.date(2026, 2, 1)
    endless = schedule_of(
        Consultation(status=ConsultationStatus.OPEN), service_need(closes=None), dt.date.today(), 12
    )
    assert endless.purge_on is None and endless.contact_by is None


def test_contact_data_is_the_answer_to_a_contact_step() -> None:
    assert contact_steps([service_need()]) == {"phone"}


def test_a_flow_keeps_data_between_one_month_and_ten_years() -> None:
    data = service_need().model_dump(by_alias=True, exclude_none=True)
    for months in (0, 121):
        with pytest.raises(ValidationError):
            Flow.model_validate({**data, "retention_months": months})
