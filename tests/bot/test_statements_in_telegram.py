"""Thirty residents vote on "What should change first?" in Telegram, in two camps.

Fifteen residents want buses, benches, doctors and help for seniors and are against
the youth club, fewer parking places, lights and online services; fifteen want the
opposite. Each one taps agree / disagree on one message the bot edits in place,
statement after statement, picks their top three, and finishes. Two of them add an
idea of their own, which waits for a moderator. The opinion groups computed from
what the bot stored recover the two camps (adjusted Rand index at least 0.8), every
resident voted on every statement exactly once, and the top three are stored.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from bot_world import REPO, Konsulta, Phone
from sklearn.metrics import adjusted_rand_score

from emulator.state import ChatMessage
from konsulta.ideas import IdeaRouting
from konsulta.opinion_report import opinion_report
from konsulta.publishing import publish, read_flow
from storage.models import StatementStatus

WHAT_FIRST = REPO / "dialogs" / "flows" / "what-first.yaml"
CAMP_A = {"buses", "benches", "doctor", "seniors"}
FLOW, _ = read_flow(WHAT_FIRST)
SEEDS = {o.key for o in FLOW.step("ideas").options}


def seed_of(text: str) -> str:
    """The seeded statement on the card, in whichever language it is shown."""
    card = re.search(r"« (.+) »", text)
    assert card is not None, text
    return next(
        o.key
        for o in FLOW.step("ideas").options
        for language in FLOW.languages
        if FLOW.localize(o.label, language) == card[1]
    )


def finished(text: str | None) -> bool:
    return any(
        text == FLOW.localize(e.text, language) for e in FLOW.ends for language in FLOW.languages
    )


def moved(phone: Phone, question: ChatMessage, before: tuple[Any, Any]) -> bool:
    """The bot answered a tap: the dialog ended, or the newest message is a question
    other than the one tapped (a new one, or the same one edited to a new statement)."""
    newest = phone.messages()[-1]
    if finished(newest.text):
        return True
    if not newest.callback_data():
        return False
    return newest.message_id != question.message_id or (newest.text, newest.reply_markup) != before


async def take_part(phone: Phone, camp: str, idea: str | None) -> None:
    """One resident's whole dialog, tapping as their camp would."""
    await phone.send("/start what-first")
    [consent] = await phone.expect(1)
    await phone.tap(consent, "agree")
    await phone.expect(1)  # the first question
    while True:
        messages = phone.messages()
        if finished(messages[-1].text):
            return
        question = phone.question()
        step = question.callback_data()[0].split(":")[2]
        keys = [data.rsplit(":", 1)[-1] for data in question.callback_data()]
        before = (len(messages), question.text, question.reply_markup)
        if step == "area":
            key = "centre" if camp == "A" else "village"
        elif step == "age":
            key = "45_64"
        elif step == "years":
            key = "long"
        elif step in ("why_top", "worst"):
            key = "~skip"
        elif step == "services":
            key = "4" if camp == "A" else "2"
        elif step == "meeting":
            key = "no"
        elif step == "ideas" and idea is not None and "~propose" in keys:
            await phone.tap(question, "~propose")
            await phone.until(lambda q=question, b=before: moved(phone, q, b[1:]))
            count = len(phone.messages())
            await phone.send(idea)
            idea = None
            # The thanks, and the statement again as a new message under them.
            await phone.until(lambda n=count: len(phone.messages()) > n + 1)
            continue
        elif step == "ideas" and keys[0][0] == "a":
            agrees = (seed_of(question.text or "") in CAMP_A) == (camp == "A")
            key = keys[0] if agrees else keys[1]  # "a<id>" or "d<id>"
        elif step == "ideas":
            key = "~done"
        elif step == "top":
            numbers = [k for k in keys if not k.startswith("~")]
            key = numbers[0] if camp == "A" else numbers[-1]
        else:
            key = "yes"
        await phone.tap(question, key)
        await phone.until(lambda q=question, b=before: moved(phone, q, b[1:]))


async def test_thirty_residents_in_two_camps_are_found_as_two_groups(world: Konsulta) -> None:
    async with world.uow() as uow:
        published = await publish(uow, FLOW, WHAT_FIRST.read_text(), open_now=True)
        consultation = await uow.consultations.get_by_slug(published.slug)
        assert consultation is not None
        await uow.commit()
    world.bot.start()
    languages = ["pl", "uk", "ar", "en", "ru"]
    camps = {8100 + n: "A" if n < 15 else "B" for n in range(30)}
    phones = {
        user: world.phone(user, languages[user % len(languages)], f"R{user}") for user in camps
    }
    ideas = {8100: "Więcej drzew przy szkołach", 8120: "Darmowy basen dla dzieci latem"}
    await asyncio.gather(
        *(take_part(phone, camps[user], ideas.get(user)) for user, phone in phones.items())
    )
    await world.settled()
    world.bot.assert_healthy()

    async with world.uow() as uow:
        matrix = await uow.statements.vote_matrix(consultation.id)
        report = await opinion_report(uow, consultation.id, min_group=10)
        participant = {}
        for user in camps:
            citizen = await uow.citizens.find(user)
            assert citizen is not None
            participant[citizen.participant_id] = camps[user]
        pending = await uow.statements.list_for(consultation.id, status=StatementStatus.PENDING)
        picks = await uow.statements.priorities(consultation.id)

    # The bot routes by the same groups: every seeded statement splits the two camps.
    routing = IdeaRouting(world.uow)
    await routing.refresh(consultation.id)
    assert len(routing.boosts(consultation.id)) == len(SEEDS)

    # Every resident voted on each of the eight statements, once (a vote per pair).
    assert len(matrix) == 30 and all(len(row) == len(SEEDS) for row in matrix.values())
    planted = [participant[p] for p in sorted(participant)]
    found = [report.grouping.group_of(p) for p in sorted(participant)]
    assert adjusted_rand_score(planted, found) >= 0.8
    assert len(report.grouping.groups) == 2
    # The two ideas wait for moderation, with their authors' agreement counted later.
    assert sorted(s.text for s in pending) == sorted(ideas.values())
    assert all(s.author_run_id is not None for s in pending)
    # Everyone's top three are stored, in the order tapped.
    assert len(picks) == 30 and all(len(p) == 3 for p in picks.values())
