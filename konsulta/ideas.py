"""Statements and priorities in a citizen's dialog (issue 19): what the engine is
offered, and what a turn's votes, proposals and top picks store.

The engine is pure, so before each turn of a flow with a `statements` or `priorities`
step the service reads storage's view into a `Deck`: for a statements step, the
approved statements this citizen has not voted on, in the order to ask them; for a
priorities step, the most agreed ideas of its statements step. Flows without such
steps never pay for it (`deck_for` returns None without a query).

Which statement comes next follows Polis's comment routing: a statement few people
have seen comes first (the novelty term 1 + 8 * 2^(-seen/5)), one people take a side
on beats one they mostly pass (passes say little about where groups stand), and one
that unites every opinion group (consensus) or splits them (divisive) counts double,
since those are what staff and the public page report. The groups come from
`IdeaRouting`: the consultation's grouping, recomputed in the background at most every
`REFRESH_SECONDS` and never on the citizen's update. The draw is weighted and random
but seeded by the run, so one citizen's order is reproducible (and testable) while
different citizens spread their votes over every statement, not only the first few.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence

from dialogs.events import Deck, Turn
from dialogs.schema import Flow, Step, StepKind
from konsulta.opinion_report import opinion_report
from storage.models import Run
from storage.repositories.statements import ApprovedStatement
from storage.uow import UnitOfWork

__all__ = ["IdeaRouting", "deck_for", "idea_order", "statement_order", "store_turn"]

log = logging.getLogger(__name__)

#: The statements step's vote of a citizen who wrote the statement: they agree.
AUTHOR_VOTE = 1
#: How often (seconds) a consultation's opinion groups are recomputed for routing.
REFRESH_SECONDS = 300.0
#: The weight of a statement that unites or splits the opinion groups.
GROUP_BOOST = 2.0


class IdeaRouting:
    """Per consultation, the statements that unite or split its opinion groups, as a
    weight for `statement_order`. Reading never waits: a stale or missing entry is
    refreshed by a background task (one at a time per consultation), and until it is
    done the previous weights (or none) are used. Each process keeps its own."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow = uow
        self._refresh = refresh_seconds
        self._clock = clock
        self._boosts: dict[int, tuple[dict[int, float], float]] = {}
        self._running: dict[int, asyncio.Task[None]] = {}

    def boosts(self, consultation_id: int) -> dict[int, float]:
        """statement id -> weight (absent: 1) for the consultation, as last computed."""
        found = self._boosts.get(consultation_id)
        stale = found is None or self._clock() - found[1] >= self._refresh
        if stale and consultation_id not in self._running:
            task = asyncio.get_running_loop().create_task(self.refresh(consultation_id))
            self._running[consultation_id] = task
            task.add_done_callback(lambda _t: self._running.pop(consultation_id, None))
        return found[0] if found is not None else {}

    async def refresh(self, consultation_id: int) -> None:
        try:
            async with self._uow() as uow:
                report = await opinion_report(uow, consultation_id, min_group=1)
        except Exception:  # routing is a nicety: a failed grouping keeps the old weights
            log.warning(
                "opinion groups for routing failed (consultation %s)",
                consultation_id,
                exc_info=True,
            )
            return
        grouping = report.grouping
        boosted = {
            int(s.statement): GROUP_BOOST
            for s in (*grouping.consensus, *grouping.divisive)
            if len(grouping.groups) > 1 and s.statement.isdecimal()
        }
        self._boosts[consultation_id] = (boosted, self._clock())


def statement_order(
    statements: Sequence[ApprovedStatement],
    voted: Collection[int],
    seed: int,
    boosts: Mapping[int, float] | None = None,
) -> list[int]:
    """The ids of `statements` not in `voted`, in the order to ask them; `boosts`
    weighs up the statements that unite or split the opinion groups."""
    rng = random.Random(seed)
    keyed: list[tuple[float, int]] = []
    for statement in statements:
        if statement.id in voted:
            continue
        seen = statement.votes
        novelty = 1 + 8 * 2 ** (-seen / 5)
        decided = 1 - (statement.passed + 1) / (seen + 2)
        weight = novelty * decided * (boosts or {}).get(statement.id, 1.0)
        # Efraimidis-Spirakis: u^(1/w) orders a weighted draw without replacement.
        keyed.append((rng.random() ** (1 / weight), statement.id))
    return [statement_id for _, statement_id in sorted(keyed, reverse=True)]


def idea_order(statements: Sequence[ApprovedStatement]) -> list[int]:
    """Ideas for a priorities step: the most agreed first (smoothed, so one "agree"
    does not beat forty agrees and two disagrees), the oldest first among equals."""

    def support(statement: ApprovedStatement) -> float:
        return (statement.agree + 1) / (statement.agree + statement.disagree + 2)

    return [s.id for s in sorted(statements, key=lambda s: (-support(s), s.id))]


def _idea_steps(flow: Flow) -> list[Step]:
    return [s for s in flow.steps if s.kind in (StepKind.STATEMENTS, StepKind.PRIORITIES)]


def _text(flow: Flow, step: Step, statement: ApprovedStatement, language: str) -> str:
    """A statement in the dialog's language: staff's translation, the flow's own
    catalog for a seeded statement (unless a moderator corrected it), else as its
    author wrote it."""
    if language in statement.translations:
        return statement.translations[language]
    option = next((o for o in step.options if o.key == statement.seed_key), None)
    if option is not None and statement.text == flow.localize(option.label, flow.default_language):
        return flow.localize(option.label, language)
    return statement.text


async def deck_for(
    uow: UnitOfWork, flow: Flow, run: Run, routing: IdeaRouting | None = None
) -> Deck | None:
    """What the flow's statements and priorities steps may show this run (None: the
    flow has none). Seeds the flow's own statements on first use."""
    steps = _idea_steps(flow)
    if not steps:
        return None
    order: dict[str, tuple[str, ...]] = {}
    texts: dict[str, str] = {}
    voted = await uow.statements.votes_of(run.citizen_id, run.consultation_id)
    # A statements step and the priorities step that offers its ideas read one list.
    approved_of: dict[str, list[ApprovedStatement]] = {}
    for step in steps:
        source = step if step.ideas_from is None else flow.step(step.ideas_from)
        if source.id not in approved_of:
            approved_of[source.id] = await _approved_and_seeded(uow, flow, source, run)
            texts.update(
                {str(s.id): _text(flow, source, s, run.language) for s in approved_of[source.id]}
            )
        approved = approved_of[source.id]
        if step.kind is StepKind.STATEMENTS:
            boosts = routing.boosts(run.consultation_id) if routing is not None else None
            ids = statement_order(approved, voted, seed=run.id, boosts=boosts)
        else:
            ids = idea_order(approved)
        order[step.id] = tuple(str(i) for i in ids)
    return Deck(order=order, texts=texts)


async def _approved_and_seeded(
    uow: UnitOfWork, flow: Flow, step: Step, run: Run
) -> list[ApprovedStatement]:
    """The step's approved statements, its seeded ones written first if any is missing
    (the first turn of the consultation): a read per turn, not a write as well. A seed
    a moderator rejected is missing every time, which costs that write again but
    changes nothing (an existing statement is left alone)."""
    approved = await uow.statements.approved(run.consultation_id, step.id)
    present = {s.seed_key for s in approved}
    if all(o.key in present for o in step.options):
        return approved
    seeds = [(o.key, flow.localize(o.label, flow.default_language)) for o in step.options]
    await uow.statements.seed(run.consultation_id, step.id, seeds, flow.default_language)
    return await uow.statements.approved(run.consultation_id, step.id)


async def store_turn(uow: UnitOfWork, flow: Flow, run: Run, turn: Turn) -> None:
    """Votes, proposals and top picks of one turn, in the turn's transaction."""
    for vote in turn.votes:
        if vote.statement_id.isdecimal():
            await uow.statements.vote(int(vote.statement_id), run.citizen_id, run.id, vote.vote)
    for proposal in turn.proposals:
        voice = None
        if proposal.voice_file_id is not None:
            voice = {"file_id": proposal.voice_file_id, "duration": proposal.voice_duration}
        statement = await uow.statements.add(
            run.consultation_id,
            proposal.step_id,
            proposal.text,
            run.language,
            author_run_id=run.id,
            voice=voice,
        )
        await uow.statements.vote(statement.id, run.citizen_id, run.id, AUTHOR_VOTE)
    priorities = {s.id for s in _idea_steps(flow) if s.kind is StepKind.PRIORITIES}
    if not priorities:
        return
    cleared = set(priorities) if turn.restarted else priorities & set(turn.cleared)
    for step_id in cleared:
        await uow.statements.set_priorities(run.id, step_id, [])
    for answer in turn.answered:
        if answer.step_id in priorities:
            picks = answer.value if isinstance(answer.value, list) else []
            ids = [int(p) for p in picks if isinstance(p, str) and p.isdecimal()]
            await uow.statements.set_priorities(run.id, answer.step_id, ids)
