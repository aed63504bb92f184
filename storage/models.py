"""The database schema as typed SQLAlchemy models.

Personal data is kept apart on purpose: Telegram ids live only in `citizen_channels`,
everything else refers to a citizen by row id and a pseudonymous participant id, so
erasing one citizen means deleting a handful of rows and exports never carry a
Telegram id. Flow versions keep the exact YAML that was published, so an old answer
always maps to the exact question it answered.

Status-like columns are short strings with the allowed values as `StrEnum`s here,
rather than database enums, so adding a value never needs a type migration.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import JSONType, UTCDateTime, utcnow

__all__ = [
    "PENDING_BROADCASTS",
    "UNFINISHED_DELIVERIES",
    "Answer",
    "AnswerCoding",
    "AnswerMark",
    "AnswerTag",
    "AuditEntry",
    "Base",
    "BuilderDraft",
    "Citizen",
    "CitizenChannel",
    "CodebookTag",
    "Community",
    "ConsentPurpose",
    "ConsentRecord",
    "Consultation",
    "ConsultationStatus",
    "FlowVersion",
    "IdeaStatus",
    "InboxUpdate",
    "InviteLink",
    "InviteOpen",
    "Leader",
    "LeaderApprover",
    "LeaderBroadcast",
    "LeaderBroadcastStatus",
    "LeaderCommunity",
    "LeaderPolicy",
    "LoginAttempt",
    "Organisation",
    "OutboxKind",
    "OutboxMessage",
    "OutboxStatus",
    "PartnerRole",
    "Partnership",
    "Priority",
    "PriorityPick",
    "ReportState",
    "ReportStatus",
    "RetentionPurge",
    "Run",
    "RunStatus",
    "StaffRole",
    "StaffUser",
    "Statement",
    "StatementStatus",
    "StatementVote",
    "ThreadDirection",
    "ThreadMessage",
    "Vote",
]

# Stable constraint names, so Alembic can drop or alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ConsultationStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class RunStatus(StrEnum):
    STARTED = "started"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class ConsentPurpose(StrEnum):
    PARTICIPATION = "participation"
    CONTACT = "contact"
    NAMED = "named"
    PRIVACY = "privacy"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"
    # The Bot API call is (or was) under way; a row left here by a dead process is
    # taken as sent, never sent again (see docs/outreach.md).
    SENDING = "sending"
    # A broadcast, follow-up or reminder not sent because the citizen opted out (/stop,
    # a block) after it was queued: not a failure.
    SKIPPED = "skipped"


class OutboxKind(StrEnum):
    DIALOG = "dialog"
    REPLY = "reply"
    BROADCAST = "broadcast"
    FOLLOWUP = "followup"
    REMINDER = "reminder"
    NOTICE = "notice"


class Priority(IntEnum):
    """Outbox priority: lower is sent first, so a citizen mid-dialog never waits
    behind a broadcast to the whole town."""

    DIALOG = 0
    REPLY = 10
    NOTICE = 20
    FOLLOWUP = 50
    REMINDER = 60
    BROADCAST = 100


class Register(StrEnum):
    """How the bot's own texts address the citizens of an organisation's consultations:
    `formal` (the bundled catalogs: "Pan/Pani", "ви", "usted") or `informal` ("ty",
    "ти", "tú"; the `konsulta-informal` catalogs, see docs/languages.md)."""

    FORMAL = "formal"
    INFORMAL = "informal"


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    register: Mapped[str] = mapped_column(
        String(16), default=Register.FORMAL, server_default=Register.FORMAL.value
    )


class BuilderDraft(Base):
    """A consultation being built on the dashboard: the flow YAML so far, owned by an
    organisation (published through the same path as a flow file)."""

    __tablename__ = "builder_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    yaml_text: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Citizen(Base):
    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[str] = mapped_column(String(32), unique=True)
    # None until the citizen picks a language.
    language: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    stopped: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    no_reminders: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    named_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The citizen asked to hear the bot's messages ("🔊 Listen", /voice on).
    read_aloud: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The leader who helped this citizen answer; the leaders table comes later.
    assisted_by: Mapped[int | None] = mapped_column(Integer)


class CitizenChannel(Base):
    """The only place a Telegram id is stored; erasure deletes this row."""

    __tablename__ = "citizen_channels"
    __table_args__ = (UniqueConstraint("channel", "channel_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    channel_user_id: Mapped[int] = mapped_column(BigInteger)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Consultation(Base):
    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The flow id from the YAML.
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default=ConsultationStatus.DRAFT, index=True)
    current_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # When staff closed it (None while draft or open); retention counts from here, or
    # from the flow's `closes` date (migration 0011).
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Public results (`/public/<slug>`): shown only while `public_since` is set, and
    # then only the questions (step ids) listed in `public_steps`.
    public_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    public_steps: Mapped[list[str]] = mapped_column(JSONType, default=list, server_default="[]")
    # The public map of its service-need reports (`/public/<slug>/map`), while set.
    public_map_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FlowVersion(Base):
    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("consultation_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    yaml_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # language -> {source text: translation} from the flow's catalogs when published
    # (missing texts already mapped to the default language's): part of the version,
    # so a published version reads the same forever.
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(
        JSONType, default=dict, server_default="{}"
    )


class ConsentRecord(Base):
    __tablename__ = "consent_records"
    __table_args__ = (Index("ix_consent_records_citizen_id_purpose", "citizen_id", "purpose"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    consultation_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultations.id", ondelete="SET NULL")
    )
    purpose: Mapped[str] = mapped_column(String(16))
    # A version string or hash of the consent text the citizen saw.
    text_version: Mapped[str] = mapped_column(String(64))
    granted: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Run(Base):
    """One citizen going through one consultation's flow, with the engine's state."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_consultation_id_status", "consultation_id", "status"),
        Index(
            "ix_runs_citizen_id_consultation_id_status", "citizen_id", "consultation_id", "status"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"))
    flow_version_id: Mapped[int] = mapped_column(ForeignKey("flow_versions.id"), index=True)
    # The dialog engine's plain JSON state; storage never looks inside.
    state: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.STARTED)
    language: Mapped[str] = mapped_column(String(16))
    # Where the citizen came from: 'telegram', 'simulator', 'link:<payload>'.
    source: Mapped[str] = mapped_column(String(128))
    community_id: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A follow-up dialog links to the run it follows up.
    parent_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )
    consent_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("consent_records.id", ondelete="SET NULL")
    )


class Answer(Base):
    """One row per question per run; re-answering after /back replaces it."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("run_id", "step_id"),
        Index("ix_answers_step_id", "step_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(64))
    # The typed value (str, number, list of option ids, location dict, ...).
    value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    display_text: Mapped[str | None] = mapped_column(Text)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A voice note's words as a machine heard them (KONSULTA_STT), never the citizen's
    # own text: `transcript_by` names the engine ("vosk", "whisper") and marks it so.
    transcript: Mapped[str | None] = mapped_column(Text, nullable=True)
    transcript_by: Mapped[str | None] = mapped_column(String(32), nullable=True)


#: The outbox rows a broadcast keeps queued (the partial index of the feed's count).
PENDING_BROADCASTS = (
    f"status = '{OutboxStatus.PENDING.value}' AND kind = '{OutboxKind.BROADCAST.value}'"
)


class OutboxMessage(Base):
    """A message to send. Every message to a citizen is a row first."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due_at", "status", "due_at"),
        # "Is there an earlier unsent row of this chat?": the per-chat FIFO of the claim.
        Index("ix_outbox_chat_id_status_id", "chat_id", "status", "id"),
        # The claim walks pending rows in its own order and stops at its limit, instead
        # of sorting every pending row (300 ms for 20 rows of a 60,000 broadcast).
        Index("ix_outbox_status_priority_id", "status", "priority", "id"),
        # The broadcast feed counts the queued broadcast rows before every feed
        # (`BroadcastRepository.queued_in_outbox`). Only those rows are in this index,
        # not the sent ones (one more per message ever sent), and the status index's
        # dead `pending` entries (two per message sent, until a vacuum) are not
        # walked. The query spells the same condition with literal values, so the
        # planner can match it.
        Index(
            "ix_outbox_pending_broadcasts",
            "kind",  # SQLite's planner takes a partial index only with a column it tests
            "id",
            postgresql_where=text(PENDING_BROADCASTS),
            sqlite_where=text(PENDING_BROADCASTS),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    #: The bot that sends it ("" the main one; see konsulta.settings.BotConfig).
    bot: Mapped[str] = mapped_column(String(32), default="", server_default="")
    kind: Mapped[str] = mapped_column(String(16))
    # The abstract message: text, buttons, parse_mode...; the sender renders it.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    priority: Mapped[int] = mapped_column(Integer, default=Priority.DIALOG)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Real send failures (a network error, a 5xx); pacing and 429s are not counted.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Bumped by every claim: the fencing token that keeps a sender whose lease ran out
    #: from sending a row another sender has claimed since.
    claims: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OpenKeyboard(Base):
    """A question message in a chat whose answer buttons still work.

    Written by the Telegram adapter once a message with answer buttons is sent (only
    then is its Telegram message id known) and removed when its buttons are taken
    off. A newer one makes the older ones stale: their buttons are taken off through
    the outbox, and a tap on them answers nothing (see bot/telegram/keyboards.py).
    """

    __tablename__ = "open_keyboards"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Closed (answered, or its buttons taken off) before or after it was noted: a tap
    # can close a question before the adapter has noted it as sent, and the note
    # must not open it again. Closed rows older than a chat's newest note are dropped.
    closed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class InboxUpdate(Base):
    """A raw Telegram update, stored before it is acknowledged (effectively once)."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_handled_at_update_id", "handled_at", "update_id"),)

    #: The bot the update came to ("" the main one): each bot numbers its own updates.
    bot: Mapped[str] = mapped_column(String(32), primary_key=True, default="", server_default="")
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    #: The worker handling the update, and until when it holds it (renewed while it
    #: lives): another worker takes the update over only once the lease has run out.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- staff dashboard (review/) ---------------------------------------------------------
# Staff accounts, their login attempts (for lockout), the audit log of every staff
# action, the per-consultation codebook and the coding of free-text answers, the status
# of service-need reports, and the message threads between staff and a citizen.


class StaffRole(StrEnum):
    """What a staff account may do. An `admin` administers their own organisation only
    (its users and audit log); `platform` is the deployment's operator, who alone adds
    organisations and manages accounts across them (created with the CLI)."""

    PLATFORM = "platform"
    ADMIN = "admin"
    STAFF = "staff"
    VIEWER = "viewer"


class AnswerMark(StrEnum):
    NEED = "need"
    COMPLAINT = "complaint"
    IDEA = "idea"


class ReportState(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"


class ThreadDirection(StrEnum):
    TO_CITIZEN = "out"
    FROM_CITIZEN = "in"


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    language: Mapped[str] = mapped_column(String(16), default="pl", server_default="pl")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginAttempt(Base):
    """One try to log in; repeated failures for an e-mail lock it for a while."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_created_at", "email", "created_at"),
        Index("ix_login_attempts_address_created_at", "address", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    #: The client's network address (per-address throttling), None from the CLI.
    address: Mapped[str | None] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffSession(Base):
    """One signed-in dashboard session. The cookie carries only a random token; this
    row (its SHA-256) is what makes it valid, so logging out or changing the password
    ends it on the server, and the cookie holds no password material at all."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_organisation_id_created_at", "organisation_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    # Kept as text too, so the log still says who after the account is deleted.
    email: Mapped[str] = mapped_column(String(254))
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CodebookTag(Base):
    __tablename__ = "codebook_tags"
    __table_args__ = (UniqueConstraint("consultation_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnswerCoding(Base):
    """How staff coded one free-text answer: a mark and a follow-up flag (tags apart)."""

    __tablename__ = "answer_codings"

    answer_id: Mapped[int] = mapped_column(
        ForeignKey("answers.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    mark: Mapped[str | None] = mapped_column(String(16))
    follow_up: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnswerTag(Base):
    __tablename__ = "answer_tags"

    answer_id: Mapped[int] = mapped_column(
        ForeignKey("answers.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("codebook_tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ReportStatus(Base):
    """Where staff are with a service-need report (a run); no row means new."""

    __tablename__ = "report_statuses"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    status: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ThreadMessage(Base):
    """A message between an organisation's staff and a citizen, either way."""

    __tablename__ = "thread_messages"
    __table_args__ = (
        Index("ix_thread_messages_citizen_id_id", "citizen_id", "id"),
        # The dashboard counts an organisation's unread replies on every page.
        Index("ix_thread_messages_organisation_id_seen_at", "organisation_id", "seen_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    direction: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A citizen's message is unread until a staff member of the organisation opens the
    # thread (any of them: the organisation shares one inbox); staff's own stay None.
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when staff mark the conversation done (the reply sent, nothing more to do);
    # the inbox lists threads with citizen messages not yet done (migration 0019).
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# The dashboard's aggregates: runs of a consultation by day (charts over time, date
# filters) and by language and community.
Index("ix_runs_consultation_id_started_at", Run.consultation_id, Run.started_at)


# --- local leaders (bot/leaders) -------------------------------------------------------
# Communities within an organisation, the Telegram users who lead them (a leader is a
# citizen row like anyone else: the Telegram id stays in citizen_channels), invite links
# per consultation and community and how often they were opened (counts only, no
# person), the staff who approve leader broadcasts, each organisation's approval rule,
# and leader broadcasts, whose rows also hold the leader's compose dialog state. What
# leaders do is written to `audit_log` (above) with the actor "leader:<id>".


class LeaderBroadcastStatus(StrEnum):
    COMPOSING = "composing"  # waiting for the leader to type the message
    DRAFT = "draft"  # content known; the leader picks languages and previews
    AWAITING_APPROVAL = "awaiting"
    SENT = "sent"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Community(Base):
    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Language codes the community speaks, first is the main one (posters, broadcasts).
    languages: Mapped[list[str]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Leader(Base):
    __tablename__ = "leaders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), unique=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # The person the leader is helping to answer right now (assisted participation).
    assisting_citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="SET NULL")
    )
    # The language the leader's extra command menu was last set in (None: not set).
    menu_language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LeaderCommunity(Base):
    __tablename__ = "leader_communities"

    leader_id: Mapped[int] = mapped_column(
        ForeignKey("leaders.id", ondelete="CASCADE"), primary_key=True
    )
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InviteLink(Base):
    """An opaque /start payload naming a consultation and a community; revocable."""

    __tablename__ = "invite_links"
    __table_args__ = (
        Index("ix_invite_links_consultation_id_community_id", "consultation_id", "community_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payload: Mapped[str] = mapped_column(String(64), unique=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("leaders.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LeaderLink(Base):
    """A one-time "become a leader" link staff make for a community (migration 0018).

    Only the SHA-256 of its /start payload is kept, so a copy of the database does not
    give working links; the first person to open it becomes the community's leader
    (`used_at`, `used_by`), later ones are told kindly it was used."""

    __tablename__ = "leader_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    # The staff member's e-mail (or "cli") who made it, as the audit log names them.
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("leaders.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InviteOpen(Base):
    """Someone opened an invite link (a count for statistics; who is not kept)."""

    __tablename__ = "invite_opens"
    __table_args__ = (
        Index("ix_invite_opens_community_id_consultation_id", "community_id", "consultation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("invite_links.id", ondelete="CASCADE"))
    consultation_id: Mapped[int] = mapped_column(Integer)
    community_id: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LeaderApprover(Base):
    """A staff member's Telegram account (a citizen row) that approves leader broadcasts."""

    __tablename__ = "leader_approvers"
    __table_args__ = (UniqueConstraint("organisation_id", "citizen_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LeaderPolicy(Base):
    """An organisation's rules for its leaders (no row: no approval needed)."""

    __tablename__ = "leader_policies"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    approval_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class LeaderBroadcast(Base):
    """A message (or an invitation to a consultation) a leader sends to their community;
    while status is composing/draft the row is also the leader's dialog state."""

    __tablename__ = "leader_broadcasts"
    __table_args__ = (Index("ix_leader_broadcasts_leader_id_status", "leader_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("leaders.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(Integer, index=True)
    # 'message' (the leader's own words) or 'invite' (an open consultation).
    kind: Mapped[str] = mapped_column(String(16))
    consultation_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultations.id", ondelete="SET NULL")
    )
    text: Mapped[str | None] = mapped_column(Text)
    languages: Mapped[list[str]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipients: Mapped[int | None] = mapped_column(Integer)
    # The outreach broadcast that sends it, written in the transaction that marks it
    # sent, so a crash neither loses nor doubles the hand-off (migration 0006).
    outreach_broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL")
    )


# --- outreach (outreach/) --------------------------------------------------------------
# Everything the scheduler must not forget across a restart: the offset of the
# controllable clock, follow-ups due after a run completes, reminders sent for abandoned
# runs, broadcasts (to a segment defined as data) with one delivery row per recipient,
# and the outcomes staff report back ("you said, we did"), which go out as broadcasts.

__all__ += [
    "Broadcast",
    "BroadcastDelivery",
    "BroadcastStatus",
    "ClockOffset",
    "DeliveryStatus",
    "FollowUpStatus",
    "Outcome",
    "Reminder",
    "ScheduledFollowUp",
]


class FollowUpStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"  # the follow-up run was started and its first message queued
    SKIPPED = "skipped"  # its `when` did not hold, or the citizen opted out
    CANCELLED = "cancelled"


class BroadcastStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its due time (quiet hours) or for room in the outbox
    QUEUED = "queued"  # handed to the outbox; the outbox row decides what follows
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"  # the citizen blocked the bot (403)
    SKIPPED = "skipped"  # /stop, unreachable or erased before it was queued
    CANCELLED = "cancelled"


class ClockOffset(Base):
    """How far the controllable clock runs ahead of real time (tests, the playground)."""

    __tablename__ = "clock_offsets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    offset_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduledFollowUp(Base):
    """A follow-up dialog a flow declares, due some days after a run completed."""

    __tablename__ = "scheduled_followups"
    __table_args__ = (
        UniqueConstraint("run_id", "followup_id"),
        Index("ix_scheduled_followups_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    followup_id: Mapped[str] = mapped_column(String(24))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=FollowUpStatus.PENDING)
    # The run of the follow-up dialog itself (its parent_run_id is `run_id`).
    followup_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Reminder(Base):
    """One reminder sent for an abandoned run; unique per (run, number) so that
    several processes never send the same reminder twice."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("run_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Broadcast(Base):
    """A message to everyone in a segment (a broadcast, or the results of a
    consultation); texts per language, sent at `send_at` or now."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status_send_at", "status", "send_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # 'broadcast', 'result' (framed as "you said, we did") or 'leader' (a local
    # leader's, framed already in bot/leaders).
    kind: Mapped[str] = mapped_column(String(16), default="broadcast")
    name: Mapped[str] = mapped_column(String(200))
    segment: Mapped[dict[str, Any]] = mapped_column(JSONType)
    texts: Mapped[dict[str, str]] = mapped_column(JSONType)
    # Buttons per language (a leader's invitation has a "Take part" link; migration 0006).
    buttons: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    default_language: Mapped[str] = mapped_column(String(16))
    consultation_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultations.id", ondelete="SET NULL")
    )
    # Whose broadcast it is: it reaches only citizens who took part in one of this
    # organisation's consultations (storage/segments.py). None only for broadcasts made
    # before organisations bounded them (migration 0016), which reach nobody.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=BroadcastStatus.DRAFT)
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Recipients are written in citizen id order, a batch at a time; this is how far.
    cursor_citizen_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    materialized: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


#: Deliveries not yet sent or ended (the partial index of the end-of-broadcast check).
UNFINISHED_DELIVERIES = (
    f"status IN ('{DeliveryStatus.PENDING.value}', '{DeliveryStatus.QUEUED.value}')"
)


class BroadcastDelivery(Base):
    """One recipient of one broadcast: never two rows for the same citizen."""

    __tablename__ = "broadcast_deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "citizen_id"),
        Index("ix_broadcast_deliveries_status_due_at", "status", "due_at"),
        Index("ix_broadcast_deliveries_broadcast_id_status", "broadcast_id", "status"),
        # "Are only a few deliveries left?", asked every second while a broadcast
        # runs (`BroadcastRepository.unfinished`): read in id order up to a limit from
        # the unfinished ones only, never from every entry of a million-recipient
        # broadcast (with their dead versions until a vacuum) as a bitmap scan of the
        # status index did. Literal values in the query, as for the outbox's.
        Index(
            "ix_broadcast_deliveries_unfinished",
            "broadcast_id",
            "id",
            postgresql_where=text(UNFINISHED_DELIVERIES),
            sqlite_where=text(UNFINISHED_DELIVERIES),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The outbox row (no foreign key: sent outbox rows may be cleaned up).
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Outcome(Base):
    """What came of a consultation, written by staff in each language."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    texts: Mapped[dict[str, str]] = mapped_column(JSONType)
    # None: everyone who took part; else a segment (see storage.segments).
    segment: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VoiceClip(Base):
    """A text read aloud, synthesised once (konsulta/speech.py).

    Keyed by a hash of (engine, voice, text), so a flow version or a broadcast is
    synthesised once per language; `file_id` is Telegram's id of the first upload,
    sent instead of the audio from then on. The text itself is not kept.
    """

    __tablename__ = "voice_clips"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    engine: Mapped[str] = mapped_column(String(16))
    voice: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    # OGG/Opus, as Telegram's sendVoice wants it.
    audio: Mapped[bytes] = mapped_column(LargeBinary)
    duration: Mapped[float] = mapped_column(Float)
    file_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RetentionPurge(Base):
    """One day's retention purge (konsulta/retention.py). The day is the primary key,
    so of several processes only the one whose insert wins purges that day; the row is
    written in the purge's own transaction, so a purge that fails leaves no claim."""

    __tablename__ = "retention_purges"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # ISO date
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Counts only (consultations, runs, answers, participants): never a person.
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class StatementStatus(StrEnum):
    """Where a statement is in moderation. Only `approved` ones are shown to citizens;
    a `merged` one was a duplicate, its votes count for `merged_into_id`."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    MERGED = "merged"


class IdeaStatus(StrEnum):
    """What became of an idea, for closing the loop ("you said, we did")."""

    TAKEN_UP = "taken_up"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    NOT_POSSIBLE = "not_possible"


class Vote(IntEnum):
    """A citizen's vote on a statement, as Polis counts it."""

    AGREE = 1
    PASS = 0
    DISAGREE = -1


class Statement(Base):
    """A statement (an idea) of a `statements` step: seeded by staff from the flow
    (`seed_key`, no author) or written by a citizen (`author_run_id`), shown to other
    participants without the author's name once approved.

    `text` is always what the author wrote (or the flow's seeded text); a moderator's
    fix of a typo goes to `corrected_text`, so the original is never lost. A voice
    note's file id is in `voice`; its text is then the machine transcript, if any.
    """

    __tablename__ = "statements"
    __table_args__ = (
        Index(
            "ix_statements_consultation_id_step_id_status", "consultation_id", "step_id", "status"
        ),
        UniqueConstraint("consultation_id", "step_id", "seed_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(64))
    # The statement's key in the flow when staff seeded it there; None for a citizen's.
    seed_key: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))
    # The run it was written in; None when seeded by staff or after retention.
    author_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )
    voice: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=StatementStatus.PENDING)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("statements.id", ondelete="SET NULL"), index=True
    )
    corrected_text: Mapped[str | None] = mapped_column(Text)
    # language -> text, added by staff for citizens of other languages.
    translations: Mapped[dict[str, str]] = mapped_column(
        JSONType, default=dict, server_default="{}"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    # Closing the loop: what became of the idea, why (for not_possible), and when.
    idea_status: Mapped[str | None] = mapped_column(String(16))
    idea_reason: Mapped[str | None] = mapped_column(Text)
    idea_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def shown_text(self) -> str:
        """What citizens and staff read: the moderator's correction, else the original."""
        return self.corrected_text or self.text


class StatementVote(Base):
    """One participant's vote on one statement; voting again replaces it. Keyed to the
    citizen (one vote per participant, also across a restarted run) and to the run it
    was cast in, so erasure and the retention purge take it with them."""

    __tablename__ = "statement_votes"
    __table_args__ = (UniqueConstraint("statement_id", "citizen_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id", ondelete="CASCADE"))
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    # Vote: 1 agree, -1 disagree, 0 pass.
    vote: Mapped[int] = mapped_column(Integer)
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PriorityPick(Base):
    """A run's ordered top picks (rank 1 first) on a `priorities` step; answering the
    step again replaces them."""

    __tablename__ = "priority_picks"
    __table_args__ = (
        UniqueConstraint("run_id", "step_id", "rank"),
        UniqueConstraint("run_id", "step_id", "statement_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(64))
    statement_id: Mapped[int] = mapped_column(
        ForeignKey("statements.id", ondelete="CASCADE"), index=True
    )
    rank: Mapped[int] = mapped_column(Integer)
    picked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- partner organisations (issue 20) --------------------------------------------------
# A consultation owned by one organisation (a municipality) shared with another (an NGO
# it contracts). Who belongs to a partner is decided in storage/repositories/partners.py.


class PartnerRole(StrEnum):
    """What a partner organisation sees of a shared consultation.

    `partner`: its own people's answers one by one (those who came through its
    communities' invite links, or named one of its provider keys), codes and replies
    to them, and figures of groups of at least k for everyone else. `provider`: figures
    of groups of at least k only, its provider's shared page included, never one
    person's answer (what the service-feedback template's consent promises providers).
    """

    PARTNER = "partner"
    PROVIDER = "provider"


class Partnership(Base):
    """One organisation invited to share one consultation (migration 0023). Invited by
    the owner's admin, accepted by the partner's admin, ended by either; an ended row
    stays as the record (a new invitation is a new row). The `*_by` columns hold the
    staff member's e-mail, as the audit log names them."""

    __tablename__ = "partnerships"
    __table_args__ = (
        Index("ix_partnerships_organisation_id_ended_at", "organisation_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    role: Mapped[str] = mapped_column(String(16), default=PartnerRole.PARTNER)
    #: The single-choice question whose answer names the provider ("provider" in the
    #: service-feedback template), and the option keys this partner answers for.
    provider_step: Mapped[str | None] = mapped_column(String(64))
    provider_keys: Mapped[list[str]] = mapped_column(JSONType, default=list, server_default="[]")
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    invited_by: Mapped[str] = mapped_column(String(254))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by: Mapped[str | None] = mapped_column(String(254))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(254))
