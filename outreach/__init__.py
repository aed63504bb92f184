"""Outreach: what Konsulta sends without being asked, at the right time and exactly once.

Follow-up dialogs some days after a run completes, reminders for runs left half-way,
broadcasts to a segment of citizens, and the results of a consultation ("you said, we
did"). APScheduler only drives a tick (`outreach.scheduler`); what is due lives in the
database as rows with a due time, so a restart loses nothing, and rows are claimed with
`FOR UPDATE SKIP LOCKED` or protected by unique keys, so several bot processes on one
PostgreSQL never send the same thing twice. Messages still leave only through the
outbox and the one sender.
"""
