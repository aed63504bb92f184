"""Leaders and communities as staff manage them (the CLI now, the dashboard later),
invite links and posters, and the leaders' command menu.

Every function takes the unit of work it runs in and never commits: the caller (a CLI
command, a Telegram handler, a dashboard view) commits once. Outbound Telegram calls,
the per-chat command menu included, are outbox rows like every other message.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from dialogs.schema import Flow
from konsulta.bootstrap import App
from konsulta.leaders.poster import PosterBlock, PosterText, poster_pdf, poster_png
from konsulta.menu import COMMANDS, LEADER_COMMANDS
from konsulta.outbound import MenuCommand, OutboundMessage
from storage.models import (
    Community,
    Consultation,
    ConsultationStatus,
    InviteLink,
    Leader,
    LeaderLink,
    Organisation,
    OutboxKind,
)
from storage.repositories.citizens import TELEGRAM
from storage.types import channel_of_bot
from storage.uow import UnitOfWork

__all__ = [
    "LEADER_LINK_DAYS",
    "LEADER_LINK_PREFIX",
    "Claim",
    "ClaimResult",
    "Invitation",
    "LeaderError",
    "LeaderInvitation",
    "actor",
    "add_community",
    "add_leader",
    "claim_leader_link",
    "consultation_choices",
    "deep_link",
    "document_message",
    "document_payload",
    "flow_of",
    "flow_poster_text",
    "invitation",
    "invite_link",
    "is_leader_link",
    "keep_menu",
    "lead",
    "make_leader_link",
    "menu_message",
    "open_consultation",
    "own_community",
    "poster",
    "poster_text",
    "remove_leader",
    "revoke_leader_link",
    "revoke_link",
    "revoke_own_link",
    "set_menu",
    "step_down",
]


class LeaderError(ValueError):
    """A staff action that cannot be done (unknown community, not a leader, ...)."""


def actor(leader: Leader) -> str:
    """How the audit log names a leader (their Telegram id is never written there)."""
    return f"leader:{leader.id}"


async def _organisation(uow: UnitOfWork, slug: str) -> Organisation:
    organisation = await uow.organisations.get_by_slug(slug)
    if organisation is None:
        raise LeaderError(f"no organisation '{slug}' (organisations come with published flows)")
    return organisation


async def add_community(
    uow: UnitOfWork, organisation_slug: str, name: str, languages: list[str], *, by: str = "cli"
) -> Community:
    organisation = await uow.organisations.get_or_create(organisation_slug)
    name = " ".join(name.split())
    if not name:
        raise LeaderError("a community needs a name")
    if await uow.communities.find(organisation.id, name) is not None:
        raise LeaderError(f"community '{name}' already exists in {organisation_slug}")
    if not languages:
        raise LeaderError("a community needs at least one language")
    community = await uow.communities.create(organisation.id, name, languages)
    await uow.leaders.audit(
        by, organisation.id, "community.add", name, languages=languages, id=community.id
    )
    return community


async def _community(uow: UnitOfWork, organisation: Organisation, name: str) -> Community:
    community = await uow.communities.find(organisation.id, name)
    if community is None:
        raise LeaderError(
            f"no community '{name}' in {organisation.slug}: "
            f'konsulta communities add "{name}" --organisation {organisation.slug}'
        )
    return community


async def add_leader(
    app: App, uow: UnitOfWork, telegram_user_id: int, community_name: str, organisation_slug: str
) -> Leader:
    """Make a Telegram user a leader of a community and show them the leader menu, in
    the bot that serves the organisation (KONSULTA_BOTS), where its citizens are."""
    organisation = await uow.organisations.get_or_create(organisation_slug)
    community = await _community(uow, organisation, community_name)
    channel = channel_of_bot(app.settings.bot_for(organisation_slug).name)
    return await lead(app, uow, telegram_user_id, community, by="cli", channel=channel)


async def lead(
    app: App,
    uow: UnitOfWork,
    telegram_user_id: int,
    community: Community,
    *,
    by: str,
    channel: str = TELEGRAM,
) -> Leader:
    """`telegram_user_id` leads `community` from now on (the CLI, the dashboard and a
    one-time link all end here), audited as done `by`; their menu gets the leader's
    commands. `channel`: the bot they lead in (a one-time link opened in another bot
    than the main one makes them that bot's leader)."""
    if telegram_user_id <= 0:
        raise LeaderError("a Telegram user id is a positive number")
    citizen = await uow.citizens.get_or_create(
        telegram_user_id,
        telegram_user_id,  # a private chat's id is the user's id
        secret=app.settings.pseudonym_secret.get_secret_value(),
        timezone=app.settings.default_timezone,
        channel=channel,
    )
    current = await uow.leaders.for_citizen(citizen.id)
    if current is not None and current.organisation_id != community.organisation_id:
        # One leader row belongs to one organisation (its broadcasts, its statistics).
        if current.active:
            raise LeaderError("this person already leads a community of another organisation")
        current.organisation_id = community.organisation_id
    leader = await uow.leaders.make(citizen.id, community.organisation_id)
    await uow.leaders.join(leader, community)
    await uow.leaders.audit(
        by, community.organisation_id, "leader.add", actor(leader), community=community.name
    )
    chat_id = await uow.citizens.chat_id(citizen.id)
    if chat_id is not None:
        await set_menu(app, uow, leader, chat_id, citizen.language or app.settings.default_language)
    return leader


async def remove_leader(
    app: App,
    uow: UnitOfWork,
    telegram_user_id: int,
    organisation_slug: str,
    community_name: str | None = None,
) -> int:
    """Take a leader out of one community (or all); their invite links keep working
    for the community. Returns how many communities they still lead."""
    organisation = await _organisation(uow, organisation_slug)
    channel = channel_of_bot(app.settings.bot_for(organisation_slug).name)
    citizen = await uow.citizens.find(telegram_user_id, channel=channel)
    leader = await uow.leaders.for_citizen(citizen.id) if citizen else None
    if citizen is None or leader is None:
        raise LeaderError(f"Telegram user {telegram_user_id} is not a leader")
    community = None
    if community_name is not None:
        community = await _community(uow, organisation, community_name)
    return await step_down(app, uow, leader, community, by="cli")


async def step_down(
    app: App, uow: UnitOfWork, leader: Leader, community: Community | None, *, by: str
) -> int:
    """The leader leaves `community` (None: all of theirs), audited as done `by`; with
    none left they are deactivated and get the citizens' menu back. Returns how many
    communities they still lead."""
    left = await uow.leaders.leave(leader, community)
    await uow.leaders.audit(
        by,
        leader.organisation_id,
        "leader.remove",
        actor(leader),
        community=community.name if community else None,
        left=left,
    )
    chat_id = await uow.citizens.chat_id(leader.citizen_id)
    if left == 0 and chat_id is not None:
        await set_menu(app, uow, leader, chat_id, None)
    return left


# --- one-time "become a leader" links ----------------------------------------------------

#: A leader link's /start payload: this prefix and 32 random URL-safe characters (an
#: invite link's payload is 24 of them, without the prefix): 39 of Telegram's 64.
LEADER_LINK_PREFIX = "leader-"
LEADER_LINK_DAYS = 7


def is_leader_link(payload: str) -> bool:
    return payload.startswith(LEADER_LINK_PREFIX) and len(payload) == len(LEADER_LINK_PREFIX) + 32


@dataclass(frozen=True)
class LeaderInvitation:
    """A new one-time link: the deep link is shown once; only its hash is kept."""

    link: LeaderLink
    payload: str


async def make_leader_link(
    uow: UnitOfWork, community: Community, *, by: str, now: datetime
) -> LeaderInvitation:
    """A one-time link that makes whoever opens it first in Telegram a leader of
    `community`, for `LEADER_LINK_DAYS` days."""
    payload = LEADER_LINK_PREFIX + secrets.token_urlsafe(24)
    link = await uow.leader_links.create(
        community.organisation_id,
        community.id,
        payload,
        by=by,
        expires=now + timedelta(days=LEADER_LINK_DAYS),
    )
    await uow.leaders.audit(
        by, community.organisation_id, "leaderlink.add", f"leaderlink:{link.id}",
        community=community.name, expires=link.expires_at.isoformat(),
    )  # fmt: skip
    return LeaderInvitation(link, payload)


class Claim(StrEnum):
    """What opening a one-time leader link came to."""

    LEADER = "leader"  # they lead the community now
    ALREADY = "already"  # they led it already (the link is not used up)
    USED = "used"  # used up, revoked or expired
    UNKNOWN = "unknown"  # no such link


@dataclass(frozen=True)
class ClaimResult:
    outcome: Claim
    community: Community | None = None


async def claim_leader_link(
    app: App,
    uow: UnitOfWork,
    payload: str,
    telegram_user_id: int,
    *,
    now: datetime,
    channel: str = TELEGRAM,
) -> ClaimResult:
    """The person who opened `payload` becomes its community's leader, once: the link
    is used up atomically, so of two people opening it at the same moment one wins."""
    link = await uow.leader_links.by_token(payload)
    if link is None:
        return ClaimResult(Claim.UNKNOWN)
    community = await uow.communities.get(link.community_id)
    if community is None:
        return ClaimResult(Claim.UNKNOWN)
    current = await uow.leaders.find_active(telegram_user_id, channel=channel)
    if current is not None and community in await uow.leaders.communities(current):
        return ClaimResult(Claim.ALREADY, community)
    if current is not None and current.organisation_id != community.organisation_id:
        # A leader of another organisation cannot take (and use up) this one's link.
        return ClaimResult(Claim.USED, community)
    if not await uow.leader_links.use(link.id, now):
        return ClaimResult(Claim.USED, community)
    by = f"leaderlink:{link.id}"
    leader = await lead(app, uow, telegram_user_id, community, by=by, channel=channel)
    await uow.leader_links.set_used_by(link.id, leader.id)
    return ClaimResult(Claim.LEADER, community)


async def revoke_leader_link(uow: UnitOfWork, link: LeaderLink, *, by: str, now: datetime) -> bool:
    """Stop an unused one-time link working; False if it was used or revoked before."""
    done = await uow.leader_links.revoke(link.id, now)
    if done:
        await uow.leaders.audit(
            by, link.organisation_id, "leaderlink.revoke", f"leaderlink:{link.id}"
        )
    return done


def menu_message(app: App, language: str | None) -> OutboundMessage:
    """The outbox row that sets a leader's command menu (citizen commands, then the
    leader's) for their chat only; `language` None removes it (back to the citizens')."""
    if language is None:
        return OutboundMessage.set_commands((), language=None)
    texts = app.texts(language)
    commands = [
        MenuCommand(command, texts.gettext(description))
        for command, description in [*COMMANDS, *LEADER_COMMANDS]
    ]
    return OutboundMessage.set_commands(commands, language=language)


async def set_menu(
    app: App, uow: UnitOfWork, leader: Leader, chat_id: int, language: str | None
) -> None:
    """Queue the menu for the leader's chat in `language` (None: remove it)."""
    payload = menu_message(app, language).to_payload()
    bot = await uow.citizens.bot_of(leader.citizen_id)  # the bot the leader talks to
    await uow.outbox.enqueue(chat_id, OutboxKind.NOTICE, payload, bot=bot)
    leader.menu_language = language
    await uow.flush()


async def keep_menu(
    app: App,
    uow: UnitOfWork,
    telegram_user_id: int,
    chat_id: int,
    language: str,
    channel: str = TELEGRAM,
) -> Leader | None:
    """The active leader behind `telegram_user_id` in `channel`'s bot, their menu set
    again in `language` if it was in another one (after /language); None if they lead
    nothing now."""
    leader = await uow.leaders.find_active(telegram_user_id, channel=channel)
    if leader is not None and leader.menu_language != language:
        await set_menu(app, uow, leader, chat_id, language)
    return leader


# --- what a leader's button names (its data comes from the phone and is not trusted) -----


async def own_community(uow: UnitOfWork, leader: Leader, community_id: int) -> Community | None:
    """The community if this leader leads it."""
    for community in await uow.leaders.communities(leader):
        if community.id == community_id:
            return community
    return None


async def may_invite(uow: UnitOfWork, consultation: Consultation, organisation_id: int) -> bool:
    """Whether the organisation's communities may be invited to the consultation: it
    is the organisation's own, or shared with it by an accepted partnership that has
    not ended (issue 20: an NGO's posters bring its people to the city's consultation)."""
    if consultation.organisation_id == organisation_id:
        return True
    return await uow.partnerships.active(consultation.id, organisation_id) is not None


async def open_consultation(uow: UnitOfWork, key: str, organisation_id: int) -> Consultation | None:
    """The consultation a button names (its id as text), if it is still open and the
    organisation may invite to it (a forged button naming another organisation's: None)."""
    consultation = await uow.consultations.get(int(key)) if key.isdecimal() else None
    if (
        consultation is None
        or consultation.status != ConsultationStatus.OPEN
        or not await may_invite(uow, consultation, organisation_id)
    ):
        return None
    return consultation


async def consultation_choices(
    app: App, uow: UnitOfWork, language: str, organisation_id: int, *, open_only: bool = True
) -> list[tuple[int, str]]:
    """The organisation's consultations a leader can pick (the open ones, or all for
    statistics), as (id, title in `language`), then those shared with it by a partner
    (`may_invite`). Never another organisation's otherwise: a deployment serves many."""
    status = ConsultationStatus.OPEN if open_only else None
    choices = []
    found = await uow.consultations.list_all(status=status, organisation_id=organisation_id)
    for partnership, shared, _owner in await uow.partnerships.of_organisation(organisation_id):
        if partnership.accepted_at is not None and status in (None, shared.status):
            found.append(shared)
    for consultation in found:
        title = consultation.title
        current = await app.flows.current(uow, consultation)
        if current is not None:
            flow = current[1]
            title = flow.localize(flow.title, language)
        choices.append((consultation.id, title))
    return choices


# --- invite links and posters ------------------------------------------------------------


async def invite_link(
    uow: UnitOfWork, consultation: Consultation, community: Community, leader: Leader | None
) -> InviteLink:
    """The community's active link for the consultation (made on first request);
    only ever to a consultation of the community's own organisation."""
    if not await may_invite(uow, consultation, community.organisation_id):
        raise LeaderError(f"{consultation.slug} is not a consultation of this community's")
    link = await uow.invites.get_or_create(
        consultation.id, community.id, created_by=leader.id if leader else None
    )
    return link


async def revoke_link(uow: UnitOfWork, payload: str, by: str) -> InviteLink | None:
    """Stop a link working (a leaked poster); the next request makes a new one."""
    link = await uow.invites.revoke(payload)
    if link is not None:
        community = await uow.communities.get(link.community_id)
        await uow.leaders.audit(
            by,
            community.organisation_id if community else None,
            "link.revoke",
            f"link:{link.id}",
            consultation_id=link.consultation_id,
            community_id=link.community_id,
        )
    return link


async def revoke_own_link(uow: UnitOfWork, leader: Leader, link_id: int) -> bool:
    """A leader stops one of their communities' links; False if it is not theirs."""
    link = await uow.get(InviteLink, link_id)
    if link is None or await own_community(uow, leader, link.community_id) is None:
        return False
    await revoke_link(uow, link.payload, actor(leader))
    return True


def deep_link(bot_username: str, payload: str) -> str:
    return f"https://t.me/{bot_username}?start={payload}"


async def flow_of(app: App, uow: UnitOfWork, consultation: Consultation) -> Any:
    current = await app.flows.current(uow, consultation)
    if current is None:
        raise LeaderError(f"{consultation.slug} has no published version")
    return current[1]


@dataclass(frozen=True)
class Poster:
    pdf: bytes
    png: bytes
    link: str


async def poster_text(
    app: App, uow: UnitOfWork, consultation: Consultation, community: Community, link: str
) -> PosterText:
    flow = await flow_of(app, uow, consultation)
    return flow_poster_text(app, flow, community.languages, community.name, link)


def flow_poster_text(
    app: App, flow: Flow, languages: Sequence[str], heading: str, link: str
) -> PosterText:
    """A poster of `link` under `heading` (a community, a service point), with the
    consultation's title and the invitation in each of `languages` the flow speaks
    (its default language when none of them)."""
    spoken = [language for language in languages if language in flow.languages]
    blocks = []
    for language in spoken or [flow.default_language]:
        texts = app.texts(language)
        blocks.append(
            PosterBlock(
                language,
                flow.localize(flow.title, language),
                texts.gettext("Scan the code with your phone's camera"),
                texts.gettext("and answer a few short questions in Telegram."),
            )
        )
    return PosterText(link, heading, tuple(blocks))


async def poster(
    app: App, uow: UnitOfWork, consultation: Consultation, community: Community, link: str
) -> Poster:
    text = await poster_text(app, uow, consultation, community, link)
    return Poster(poster_pdf(text), poster_png(text), link)


@dataclass(frozen=True)
class Invitation:
    """A community's invite link to a consultation, with its poster."""

    link: InviteLink
    url: str
    poster: Poster


async def invitation(
    app: App,
    uow: UnitOfWork,
    leader: Leader,
    community: Community,
    consultation: Consultation,
    bot_username: str,
) -> Invitation:
    """The leader's invite link and poster (the link made on first request)."""
    link = await invite_link(uow, consultation, community, leader)
    url = deep_link(bot_username, link.payload)
    made = await poster(app, uow, consultation, community, url)
    await uow.leaders.audit(
        actor(leader),
        community.organisation_id,
        "link.poster",
        f"link:{link.id}",
        consultation=consultation.slug,
        community=community.name,
    )
    return Invitation(link, url, made)


def document_message(filename: str, content: bytes, caption: str, language: str) -> OutboundMessage:
    """A file for the outbox; forgotten once sent so the outbox stays small."""
    return OutboundMessage.file(filename, content, caption, language=language)


def document_payload(filename: str, content: bytes, caption: str, language: str) -> dict[str, Any]:
    """`document_message` as stored JSON, for callers still queueing dicts."""
    return document_message(filename, content, caption, language).to_payload()
