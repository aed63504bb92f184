"""The conversation service that every adapter shares: consent first, then the dialog,
every answer stored in the same transaction as the new state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from database_checks import session_of
from sqlalchemy import event, func, select

from dialogs.events import ButtonPress, TextInput
from konsulta.bootstrap import App, build_app
from konsulta.conversations import CONSENT_STEP, Conversations, Delivery, Who
from konsulta.publishing import publish, read_flow
from konsulta.settings import Settings
from storage.models import Answer, ConsentRecord, OutboxMessage, Run

FLOWS = Path(__file__).resolve().parents[2] / "dialogs" / "flows"
ANNA = Who("telegram", 1001, 1001, "pl")
BOGDAN = Who("telegram", 1002, 1002, "pl")


@pytest.fixture
async def app(migrated_url: str) -> AsyncIterator[App]:
    app = await build_app(Settings(database_url=migrated_url), migrate=False)
    flow, text = read_flow(FLOWS / "senior-housing.yaml")
    async with app.uow() as uow:
        await publish(uow, flow, text, open_now=True)
        await uow.commit()
    try:
        yield app
    finally:
        await app.close()


async def count(app: App, model: type) -> int:
    async with app.uow() as uow:
        return int(
            (await session_of(uow).execute(select(func.count()).select_from(model))).scalar_one()
        )


async def test_a_senior_who_declines_leaves_only_the_refusal(app: App) -> None:
    conversations = Conversations(app)
    shown = await conversations.open(ANNA, "senior-housing", source="telegram", delivery=None)
    [consent] = shown.messages
    assert consent.step_id == CONSENT_STEP and "/delete" in consent.text
    assert shown.language == "pl"
    await conversations.handle(ANNA, ButtonPress(CONSENT_STEP, "decline"), delivery=None)
    assert await count(app, Run) == 0 and await count(app, Answer) == 0
    async with app.uow() as uow:
        [record] = (await session_of(uow).execute(select(ConsentRecord))).scalars().all()
    assert record.granted is False
    assert record.text_version.startswith("senior-housing@2/privacy-")


async def test_answers_wait_for_consent_and_are_stored_with_the_state(app: App) -> None:
    conversations = Conversations(app)
    await conversations.open(ANNA, "senior-housing", source="link:senior-housing", delivery=None)
    ignored = await conversations.handle(ANNA, TextInput("hello"), delivery=None)
    assert ignored.messages[-1].step_id == CONSENT_STEP  # asked again, nothing stored
    started = await conversations.handle(ANNA, ButtonPress(CONSENT_STEP, "agree"), delivery=None)
    question = started.messages[-1]
    assert question.step_id == "age" and question.progress is not None
    await conversations.handle(ANNA, ButtonPress("age", question.buttons[2].key), delivery=None)
    async with app.uow() as uow:
        [run] = (await session_of(uow).execute(select(Run))).scalars().all()
        [answer] = await uow.answers.list_for_run(run.id)
    assert run.source == "link:senior-housing" and run.consent_record_id is not None
    assert answer.step_id == "age" and answer.value == question.buttons[2].key
    assert run.state["current"] == "lives_with"


@pytest.mark.parametrize(("typed", "granted"), [("tak", True), ("Tak!", True), ("nie", False)])
async def test_yes_or_no_typed_at_the_consent_counts_as_the_tap(
    app: App, typed: str, granted: bool
) -> None:
    conversations = Conversations(app)
    await conversations.open(ANNA, "senior-housing", source="telegram", delivery=None)
    shown = await conversations.handle(ANNA, TextInput(typed), delivery=None)
    assert all(m.step_id != CONSENT_STEP for m in shown.messages)  # not asked again
    async with app.uow() as uow:
        [record] = (await session_of(uow).execute(select(ConsentRecord))).scalars().all()
    assert record.granted is granted
    if granted:
        assert shown.messages[-1].step_id == "age"


async def test_a_telegram_event_queues_its_replies_and_marks_its_update_in_one_go(
    app: App,
) -> None:
    conversations = Conversations(app)
    async with app.uow() as uow:
        await uow.inbox.add(77, {"update_id": 77}, chat_id=1001)
        await uow.commit()
    delivery = Delivery(chat_id=1001, update_id=77)
    await conversations.open(ANNA, "senior-housing", source="telegram", delivery=delivery)
    async with app.uow() as uow:
        update = await uow.inbox.get(77)
        [queued] = (await session_of(uow).execute(select(OutboxMessage))).scalars().all()
    assert update is not None and update.handled_at is not None
    assert queued.chat_id == 1001 and queued.payload["step_id"] == CONSENT_STEP
    assert queued.payload["language"] == "pl"


async def test_a_button_from_an_earlier_run_answers_nothing(app: App) -> None:
    conversations = Conversations(app)
    first = await conversations.open(ANNA, "senior-housing", source="telegram", delivery=None)
    await conversations.handle(ANNA, ButtonPress(CONSENT_STEP, "agree"), delivery=None)
    stale = await conversations.handle(
        ANNA, ButtonPress("age", "60_64"), delivery=None, run_id=(first.run_id or 0) + 100
    )
    assert stale.messages == () and stale.stale is not None
    assert await count(app, Answer) == 0


class FakeSender:
    """The sender as a unit of work sees it: counts the wake-ups it was given."""

    def __init__(self) -> None:
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1


async def test_replies_wake_this_processs_sender_once_committed_and_never_before(
    app: App,
) -> None:
    sender = FakeSender()
    app.handoff = sender
    conversations = Conversations(app)
    async with app.uow() as uow:
        await uow.inbox.add(78, {"update_id": 78}, chat_id=1001)
        await uow.commit()
    outcome = await conversations.open(
        ANNA, "senior-housing", source="telegram", delivery=Delivery(1001, 78)
    )
    assert sender.wakes == 1
    # Queued, unclaimed: the sender claims each chat's head from the table (FIFO).
    async with app.uow() as uow:
        [row] = await uow.outbox.claim_due()
        assert (row.status, row.attempts, row.payload["run_id"]) == (
            "pending",
            0,
            outcome.run_id,
        )

    # A transaction that fails wakes nobody.
    with pytest.raises(RuntimeError):
        async with app.uow() as uow:
            await uow.outbox.queue(1001, "dialog", [{"text": "lost"}], citizen_id=None)
            raise RuntimeError("the handler failed")
    assert sender.wakes == 1
    async with app.uow() as uow:
        await uow.outbox.enqueue(1001, "reply", {"text": "from staff"})
        await uow.commit()
    assert sender.wakes == 2


async def test_after_start_the_next_updates_language_and_register_need_no_lookup(
    app: App,
) -> None:
    """Every update's context asks for the citizen's language and register. /start
    knows both (the run it made is the one touched last), so the consent tap that
    follows costs no read transaction of its own."""
    conversations = Conversations(app)
    await conversations.open(ANNA, "senior-housing", source="telegram", delivery=None)
    statements: list[str] = []

    def listen(_connection: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    event.listen(app.engine.sync_engine, "before_cursor_execute", listen)
    try:
        language = await conversations.stored_language(ANNA.user_id)
        register = await conversations.stored_register(ANNA.user_id)
    finally:
        event.remove(app.engine.sync_engine, "before_cursor_execute", listen)
    assert statements == []
    async with app.uow() as uow:
        citizen = await uow.citizens.find(ANNA.user_id)
        assert citizen is not None
        assert register == await uow.organisations.register_for_citizen(citizen.id)
        assert language == citizen.language


async def test_a_start_reads_the_flows_yaml_only_the_first_time(app: App) -> None:
    """A published version never changes and this process keeps it parsed, so a
    /start after the first reads only which version is current, not its YAML and
    the translations of a dozen languages (tens of kilobytes decoded each time)."""
    conversations = Conversations(app)
    statements: list[str] = []

    def listen(_connection: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    event.listen(app.engine.sync_engine, "before_cursor_execute", listen)
    try:
        for citizen in (ANNA, BOGDAN):
            await conversations.open(citizen, "senior-housing", source="telegram", delivery=None)
    finally:
        event.remove(app.engine.sync_engine, "before_cursor_execute", listen)
    yaml_reads = [s for s in statements if "flow_versions.yaml_text" in s]
    assert len(yaml_reads) == 1
    async with app.uow() as uow:
        runs = (await session_of(uow).execute(select(Run))).scalars().all()
        consultation = await uow.consultations.get_by_slug("senior-housing")
        assert consultation is not None
        current = await uow.consultations.get_version(consultation)
    assert current is not None and {run.flow_version_id for run in runs} == {current.id}


async def test_a_first_start_creates_the_citizen_in_as_few_statements_as_it_can(
    app: App,
) -> None:
    """The first contact of someone a broadcast brought: the update's context has
    just looked up their language and register (nobody yet, so formal), and /start
    reuses that instead of asking again; the new citizen row comes back from its
    INSERT, already theirs, so it is neither read back nor locked."""
    conversations = Conversations(app)
    assert await conversations.stored_language(BOGDAN.user_id) is None  # the context's lookup
    statements: list[str] = []

    def listen(_connection: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(app.engine.sync_engine, "before_cursor_execute", listen)
    try:
        shown = await conversations.open(BOGDAN, "senior-housing", source="telegram", delivery=None)
    finally:
        event.remove(app.engine.sync_engine, "before_cursor_execute", listen)
    assert [m.step_id for m in shown.messages] == [CONSENT_STEP]
    citizens_register = [s for s in statements if "register" in s and "runs.citizen_id" in s]
    assert citizens_register == []
    reads_of_citizens = [s for s in statements if s.startswith("SELECT citizens.")]
    assert reads_of_citizens == []
    async with app.uow() as uow:
        citizen = await uow.citizens.find(BOGDAN.user_id)
        assert citizen is not None and citizen.participant_id.startswith("p-")
