"""Leaders and communities as staff manage them (the CLI now, the dashboard later),
invite links and posters, and the leaders' command menu.

Every function takes the unit of work it runs in and never commits: the caller (a CLI
command, a Telegram handler, a dashboard view) commits once. Outbound Telegram calls,
the per-chat command menu included, are outbox rows like every other message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    Organisation,
    OutboxKind,
)
from storage.uow import UnitOfWork

__all__ = [
    "Invitation",
    "LeaderError",
    "actor",
    "add_community",
    "add_leader",
    "consultation_choices",
    "deep_link",
    "document_message",
    "document_payload",
    "flow_of",
    "invitation",
    "invite_link",
    "keep_menu",
    "menu_message",
    "open_consultation",
    "own_community",
    "poster_text",
    "remove_leader",
    "revoke_link",
    "revoke_own_link",
    "set_menu",
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
    uow: UnitOfWork, organisation_slug: str, name: str, languages: list[str]
) -> Community:
    organisation = await uow.organisations.get_or_create(organisation_slug)
    if await uow.communities.find(organisation.id, name) is not None:
        raise LeaderError(f"community '{name}' already exists in {organisation_slug}")
    if not languages:
        raise LeaderError("a community needs at least one language")
    community = await uow.communities.create(organisation.id, name, languages)
    await uow.leaders.audit(
        "cli", organisation.id, "community.add", name, languages=languages, id=community.id
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
    """Make a Telegram user a leader of a community and show them the leader menu."""
    organisation = await uow.organisations.get_or_create(organisation_slug)
    community = await _community(uow, organisation, community_name)
    citizen = await uow.citizens.get_or_create(
        telegram_user_id,
        telegram_user_id,  # a private chat's id is the user's id
        secret=app.settings.pseudonym_secret.get_secret_value(),
        timezone=app.settings.default_timezone,
    )
    leader = await uow.leaders.make(citizen.id, organisation.id)
    await uow.leaders.join(leader, community)
    await uow.leaders.audit(
        "cli", organisation.id, "leader.add", actor(leader), community=community.name
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
    citizen = await uow.citizens.find(telegram_user_id)
    leader = await uow.leaders.for_citizen(citizen.id) if citizen else None
    if citizen is None or leader is None:
        raise LeaderError(f"Telegram user {telegram_user_id} is not a leader")
    community = None
    if community_name is not None:
        community = await _community(uow, organisation, community_name)
    left = await uow.leaders.leave(leader, community)
    await uow.leaders.audit(
        "cli", organisation.id, "leader.remove", actor(leader), community=community_name, left=left
    )
    chat_id = await uow.citizens.chat_id(citizen.id)
    if left == 0 and chat_id is not None:
        await set_menu(app, uow, leader, chat_id, None)
    return left


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
    await uow.outbox.enqueue(chat_id, OutboxKind.NOTICE, menu_message(app, language).to_payload())
    leader.menu_language = language
    await uow.flush()


async def keep_menu(
    app: App, uow: UnitOfWork, telegram_user_id: int, chat_id: int, language: str
) -> Leader | None:
    """The active leader behind `telegram_user_id`, their menu set again in `language`
    if it was in another one (after /language); None if they lead nothing now."""
    leader = await uow.leaders.find_active(telegram_user_id)
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


async def open_consultation(uow: UnitOfWork, key: str, organisation_id: int) -> Consultation | None:
    """The consultation a button names (its id as text), if it is still open and is
    the organisation's (a forged button naming another organisation's: None)."""
    consultation = await uow.consultations.get(int(key)) if key.isdecimal() else None
    if (
        consultation is None
        or consultation.status != ConsultationStatus.OPEN
        or consultation.organisation_id != organisation_id
    ):
        return None
    return consultation


async def consultation_choices(
    app: App, uow: UnitOfWork, language: str, organisation_id: int, *, open_only: bool = True
) -> list[tuple[int, str]]:
    """The organisation's consultations a leader can pick (the open ones, or all for
    statistics), as (id, title in `language`). Never another organisation's: a
    deployment serves many, and a leader invites only to their own's."""
    status = ConsultationStatus.OPEN if open_only else None
    choices = []
    found = await uow.consultations.list_all(status=status, organisation_id=organisation_id)
    for consultation in found:
        title = consultation.title
        version = await uow.consultations.get_version(consultation)
        if version is not None:
            flow = app.flows.flow(version)
            title = flow.localize(flow.title, language)
        choices.append((consultation.id, title))
    return choices


# --- invite links and posters ------------------------------------------------------------


async def invite_link(
    uow: UnitOfWork, consultation: Consultation, community: Community, leader: Leader | None
) -> InviteLink:
    """The community's active link for the consultation (made on first request);
    only ever to a consultation of the community's own organisation."""
    if consultation.organisation_id != community.organisation_id:
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
    version = await uow.consultations.get_version(consultation)
    if version is None:
        raise LeaderError(f"{consultation.slug} has no published version")
    return app.flows.flow(version)


@dataclass(frozen=True)
class Poster:
    pdf: bytes
    png: bytes
    link: str


async def poster_text(
    app: App, uow: UnitOfWork, consultation: Consultation, community: Community, link: str
) -> PosterText:
    flow = await flow_of(app, uow, consultation)
    languages = [lang for lang in community.languages if lang in flow.languages]
    blocks = []
    for language in languages or [flow.default_language]:
        texts = app.texts(language)
        blocks.append(
            PosterBlock(
                language,
                flow.localize(flow.title, language),
                texts.gettext("Scan the code with your phone's camera"),
                texts.gettext("and answer a few short questions in Telegram."),
            )
        )
    return PosterText(link, community.name, tuple(blocks))


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
