"""The leader's side of the bot in Telegram: invite links and posters, broadcasts,
helping someone answer, statistics; and the approvers' Approve/Reject buttons.

The routers come before the citizens' ones (see `bot.telegram.routers`).
The leaders' router only lets through updates from active leaders (one query); an
update none of its handlers wants goes on to the citizens' routers, so a leader is
also an ordinary citizen. Handlers parse and delegate to the services in this
package; every dialog step is stored (broadcast rows, the leader's `assisting`
person), buttons are `LeaderAct` callback data, nothing routes on visible text.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.telegram.callbacks import LeaderAct, Tap
from bot.telegram.events import event_of
from dialogs.events import ButtonPress, CommandInput, Translator
from konsulta.bootstrap import App
from konsulta.conversations import Conversations, Delivery, Outcome, Who
from konsulta.leaders import assist, broadcasts
from konsulta.leaders.actions import LeaderAction as Act
from konsulta.leaders.service import (
    LeaderError,
    actor,
    deep_link,
    document_payload,
    invite_link,
    poster,
    revoke_link,
    set_menu,
)
from konsulta.leaders.stats import stats_report
from storage.models import (
    Community,
    Consultation,
    ConsultationStatus,
    InviteLink,
    Leader,
    LeaderBroadcastStatus,
)
from storage.uow import UnitOfWork

__all__ = ["get_routers"]

Payload = dict[str, Any]


class IsLeader(Filter):
    """Passes active leaders, handing their `leader` row to the handlers; keeps their
    command menu in their current language (set again after /language)."""

    async def __call__(
        self,
        event: TelegramObject,
        app: App,
        language: str,
        event_from_user: User | None = None,
        delivery: Delivery | None = None,
    ) -> bool | dict[str, Any]:
        if event_from_user is None:
            return False
        # Every update passes here, and almost nobody is a leader: a read, no write turn.
        async with app.uow(read_only=True) as uow:
            leader = await uow.leaders.find_active(event_from_user.id)
        if leader is None:
            return False
        if leader.menu_language != language and delivery is not None:
            async with app.uow() as uow:
                leader = await uow.leaders.find_active(event_from_user.id)
                if leader is None:
                    return False
                await set_menu(app, uow, leader, delivery.chat_id, language)
                await uow.commit()
        return {"leader": leader}


class Assisting(Filter):
    async def __call__(self, event: TelegramObject, leader: Leader) -> bool:
        return leader.assisting_citizen_id is not None


class Composing(Filter):
    """The leader started a message broadcast and is to type its text now."""

    async def __call__(self, event: TelegramObject, app: App, leader: Leader) -> bool:
        async with app.uow(read_only=True) as uow:
            return await uow.leader_broadcasts.composing(leader.id) is not None


def button(label: str, act: Act, item: int = 0, arg: str = "") -> Payload:
    return {"key": act, "label": label, "callback": LeaderAct(act=act, id=item, arg=arg).pack()}


def say(text: str, language: str, *buttons: Payload, edit: bool = False) -> Payload:
    role = "question" if buttons else "notice"
    return {"language": language, "text": text, "role": role, "buttons": list(buttons)} | (
        {"edit": True} if edit else {}
    )


async def send(uow: UnitOfWork, delivery: Delivery, *payloads: Payload) -> None:
    """Queue the leader's messages; mark the update handled in the same transaction."""
    for payload in payloads:
        if payload.get("edit"):
            if delivery.source_message_id is None:
                payload = {k: v for k, v in payload.items() if k != "edit"}
            else:
                payload = {**payload, "edit_message_id": delivery.source_message_id}
        await uow.outbox.enqueue(delivery.chat_id, "dialog", payload)
    if delivery.update_id is not None:
        await uow.inbox.mark_handled(delivery.update_id)


async def reply(app: App, delivery: Delivery, *payloads: Payload) -> None:
    async with app.uow() as uow:
        await send(uow, delivery, *payloads)
        await uow.commit()


async def _own_community(uow: UnitOfWork, leader: Leader, community_id: int) -> Community | None:
    """The community if this leader leads it (callback data is not trusted)."""
    for community in await uow.leaders.communities(leader):
        if community.id == community_id:
            return community
    return None


async def _open_consultation(uow: UnitOfWork, key: str) -> Consultation | None:
    consultation = await uow.consultations.get(int(key)) if key.isdecimal() else None
    if consultation is None or consultation.status != ConsultationStatus.OPEN:
        return None
    return consultation


async def _pick_community(
    uow: UnitOfWork, leader: Leader, act: Act, texts: Translator, language: str
) -> Payload | Community:
    """The leader's only community, or a question to pick one."""
    communities = await uow.leaders.communities(leader)
    if len(communities) == 1:
        return communities[0]
    if not communities:
        return say(texts.gettext("You do not lead any community at the moment."), language)
    return say(
        texts.gettext("Which community?"),
        language,
        *(button(c.name, act, c.id) for c in communities),
    )


async def _pick_consultation(
    app: App,
    uow: UnitOfWork,
    act: Act,
    item: int,
    texts: Translator,
    language: str,
    *,
    open_only: bool = True,
) -> Payload:
    status = ConsultationStatus.OPEN if open_only else None
    consultations = await uow.consultations.list_all(status=status)
    if not consultations:
        return say(texts.gettext("There is no open consultation at the moment."), language)
    buttons = []
    for consultation in consultations:
        title = consultation.title
        version = await uow.consultations.get_version(consultation)
        if version is not None:
            flow = app.flows.flow(version)
            title = flow.localize(flow.title, language)
        buttons.append(button(title[:60], act, item, str(consultation.id)))
    return say(texts.gettext("Which consultation?"), language, *buttons)


# --- the leader's router -------------------------------------------------------------


async def on_invite(
    message: Message, app: App, leader: Leader, delivery: Delivery, language: str, texts: Translator
) -> None:
    async with app.uow() as uow:
        found = await _pick_community(uow, leader, Act.INVITE_COMMUNITY, texts, language)
        if isinstance(found, Community):
            found = await _pick_consultation(app, uow, Act.INVITE, found.id, texts, language)
        await send(uow, delivery, found)
        await uow.commit()


async def on_broadcast(
    message: Message, app: App, leader: Leader, delivery: Delivery, language: str, texts: Translator
) -> None:
    async with app.uow() as uow:
        found = await _pick_community(uow, leader, Act.BROADCAST_COMMUNITY, texts, language)
        if isinstance(found, Community):
            found = _broadcast_kinds(found, texts, language)
        await send(uow, delivery, found)
        await uow.commit()


def _broadcast_kinds(community: Community, texts: Translator, language: str) -> Payload:
    return say(
        texts.gettext("What do you want to send to {community}?").format(community=community.name),
        language,
        button(texts.gettext("✍ Write a message"), Act.BROADCAST_KIND, community.id, "message"),
        button(
            texts.gettext("📋 Invite to a consultation"), Act.BROADCAST_KIND, community.id, "invite"
        ),
    )


async def on_assist(
    message: Message, app: App, leader: Leader, delivery: Delivery, language: str, texts: Translator
) -> None:
    async with app.uow() as uow:
        if leader.assisting_citizen_id is not None:
            found: Payload | Community = say(
                texts.gettext("You are helping someone answer right now."),
                language,
                button(texts.gettext("Stop helping"), Act.ASSIST_STOP),
            )
        else:
            found = await _pick_community(uow, leader, Act.ASSIST_COMMUNITY, texts, language)
            if isinstance(found, Community):
                found = await _pick_consultation(app, uow, Act.ASSIST, found.id, texts, language)
        assert not isinstance(found, Community)
        await send(uow, delivery, found)
        await uow.commit()


async def on_stats(
    message: Message, app: App, leader: Leader, delivery: Delivery, language: str, texts: Translator
) -> None:
    async with app.uow() as uow:
        communities = await uow.leaders.communities(leader)
        if len(communities) > 1:
            choices = [button(texts.gettext("All my communities"), Act.STATS_COMMUNITY, 0)]
            choices += [button(c.name, Act.STATS_COMMUNITY, c.id) for c in communities]
            payload = say(texts.gettext("Which community?"), language, *choices)
        elif communities:
            payload = await _pick_consultation(
                app, uow, Act.STATS, communities[0].id, texts, language, open_only=False
            )
        else:
            payload = say(texts.gettext("You do not lead any community at the moment."), language)
        await send(uow, delivery, payload)
        await uow.commit()


# While helping someone, the leader's answers are that person's.


async def on_assisted_command(
    message: Message,
    command: CommandObject,
    app: App,
    conversations: Conversations,
    leader: Leader,
    who: Who,
    delivery: Delivery,
    texts: Translator,
) -> None:
    name = command.command.lower()
    event = CommandInput("back" if name == "back" else "skip" if name == "skip" else "restart")
    await _assisted(app, conversations, leader, who, delivery, texts, event)


async def on_assisted_tap(
    query: CallbackQuery,
    callback_data: Tap,
    app: App,
    conversations: Conversations,
    leader: Leader,
    who: Who,
    delivery: Delivery,
    texts: Translator,
) -> None:
    await query.answer()
    event = ButtonPress(callback_data.step, callback_data.key)
    await _assisted(
        app, conversations, leader, who, delivery, texts, event, run_id=callback_data.run or None
    )


def not_a_command(message: Message) -> bool:
    return not (message.text or "").startswith("/")


async def on_assisted_message(
    message: Message,
    app: App,
    conversations: Conversations,
    leader: Leader,
    who: Who,
    delivery: Delivery,
    texts: Translator,
) -> None:
    event = event_of(message)
    if event is None:
        return
    await _assisted(app, conversations, leader, who, delivery, texts, event)


async def _assisted(
    app: App,
    conversations: Conversations,
    leader: Leader,
    who: Who,
    delivery: Delivery,
    texts: Translator,
    event: Any,
    run_id: int | None = None,
) -> None:
    assert leader.assisting_citizen_id is not None
    person = assist.assisted_who(who, leader.assisting_citizen_id)
    outcome: Outcome = await conversations.handle(person, event, delivery=delivery, run_id=run_id)
    if outcome.completed or outcome.run_id is None:
        await _stop_assisting(app, leader, delivery, outcome.language, completed=outcome.completed)


async def _stop_assisting(
    app: App, leader: Leader, delivery: Delivery, language: str, *, completed: bool
) -> None:
    texts = app.texts(language)
    async with app.uow() as uow:
        fresh = await uow.leaders.get(leader.id)
        assert fresh is not None
        await assist.end(uow, fresh, completed=completed)
        text = texts.gettext(
            "Thank you for helping. The answers are stored under a code of their own; "
            "you cannot see them later. Your chat is yours again."
        )
        await uow.outbox.enqueue(delivery.chat_id, "dialog", say(text, language))
        await uow.commit()


async def on_broadcast_text(
    message: Message, app: App, leader: Leader, delivery: Delivery, language: str, texts: Translator
) -> None:
    async with app.uow() as uow:
        broadcast = await uow.leader_broadcasts.composing(leader.id)
        community = await uow.communities.get(broadcast.community_id) if broadcast else None
        if broadcast is None or community is None:
            return
        await broadcasts.set_text(uow, broadcast, message.text or "")
        panel = broadcasts.draft_panel(app, broadcast, community, language)
        await send(uow, delivery, panel)
        await uow.commit()


# --- the leader's buttons ---------------------------------------------------------------


async def on_leader_button(
    query: CallbackQuery,
    callback_data: LeaderAct,
    app: App,
    bot: Bot,
    conversations: Conversations,
    leader: Leader,
    who: Who,
    delivery: Delivery,
    language: str,
    texts: Translator,
) -> None:
    await query.answer()
    act, item, arg = callback_data.act, callback_data.id, callback_data.arg
    if act == Act.ASSIST:
        await _begin_assist(app, conversations, leader, who, delivery, language, texts, item, arg)
        return
    if act == Act.ASSIST_STOP:
        if leader.assisting_citizen_id is not None:
            await _stop_assisting(app, leader, delivery, language, completed=False)
        await reply(app, delivery)
        return
    async with app.uow() as uow:
        payloads = await _leader_act(app, bot, uow, leader, act, item, arg, language, texts)
        await send(uow, delivery, *payloads)
        await uow.commit()


async def _leader_act(
    app: App,
    bot: Bot,
    uow: UnitOfWork,
    leader: Leader,
    act: str,
    item: int,
    arg: str,
    language: str,
    texts: Translator,
) -> list[Payload]:
    gone = [say(texts.gettext("This button no longer works."), language)]
    if act in {Act.INVITE_COMMUNITY, Act.ASSIST_COMMUNITY, Act.BROADCAST_COMMUNITY}:
        community = await _own_community(uow, leader, item)
        if community is None:
            return gone
        if act == Act.BROADCAST_COMMUNITY:
            return [_broadcast_kinds(community, texts, language)]
        nxt = Act.INVITE if act == Act.INVITE_COMMUNITY else Act.ASSIST
        return [await _pick_consultation(app, uow, nxt, community.id, texts, language)]
    if act == Act.STATS_COMMUNITY:
        if item and await _own_community(uow, leader, item) is None:
            return gone
        return [
            await _pick_consultation(app, uow, Act.STATS, item, texts, language, open_only=False)
        ]
    if act == Act.STATS:
        return await _stats(app, uow, leader, item, arg, language, texts) or gone
    if act == Act.INVITE:
        community = await _own_community(uow, leader, item)
        consultation = await _open_consultation(uow, arg)
        if community is None or consultation is None:
            return gone
        return await _invite(app, bot, uow, leader, community, consultation, language, texts)
    if act == Act.REVOKE:
        return await _revoke(uow, leader, item, language, texts) or gone
    if act == Act.BROADCAST_KIND:
        community = await _own_community(uow, leader, item)
        if community is None or arg not in {"message", "invite"}:
            return gone
        broadcast = await broadcasts.start(uow, leader, community, arg)
        if arg == "message":
            text = texts.gettext(
                "Type your message to {community} now. "
                "You will see it exactly as they will before anything is sent."
            ).format(community=community.name)
            return [say(text, language)]
        return [
            await _pick_consultation(
                app, uow, Act.BROADCAST_CONSULTATION, broadcast.id, texts, language
            )
        ]
    return await _broadcast_act(app, bot, uow, leader, act, item, arg, language, texts) or gone


async def _invite(
    app: App,
    bot: Bot,
    uow: UnitOfWork,
    leader: Leader,
    community: Community,
    consultation: Consultation,
    language: str,
    texts: Translator,
) -> list[Payload]:
    link = await invite_link(uow, consultation, community, leader)
    url = deep_link(await _username(bot), link.payload)
    made = await poster(app, uow, consultation, community, url)
    await uow.leaders.audit(
        actor(leader),
        community.organisation_id,
        "link.poster",
        f"link:{link.id}",
        consultation=consultation.slug,
        community=community.name,
    )
    text = texts.gettext(
        "The invite link of {community}: {link}\n\n"
        "Share it or print the poster. Everyone who answers through it is counted "
        "for your community (you never see their answers)."
    ).format(community=community.name, link=url)
    name = f"poster-{consultation.slug}-{link.id}"
    return [
        say(text, language, button(texts.gettext("Stop this link"), Act.REVOKE, link.id)),
        document_payload(f"{name}.pdf", made.pdf, texts.gettext("Poster to print (A4)"), language),
        document_payload(f"{name}.png", made.png, texts.gettext("Poster as a picture"), language),
    ]


async def _revoke(
    uow: UnitOfWork, leader: Leader, link_id: int, language: str, texts: Translator
) -> list[Payload] | None:
    link = await uow.session.get(InviteLink, link_id)
    if link is None or await _own_community(uow, leader, link.community_id) is None:
        return None
    await revoke_link(uow, link.payload, actor(leader))
    text = texts.gettext("The link no longer works. Send /invite for a new link and poster.")
    return [say(text, language)]


async def _stats(
    app: App,
    uow: UnitOfWork,
    leader: Leader,
    community_id: int,
    consultation_key: str,
    language: str,
    texts: Translator,
) -> list[Payload] | None:
    communities = await uow.leaders.communities(leader)
    ids = [c.id for c in communities if community_id in (0, c.id)]
    consultation = (
        await uow.consultations.get(int(consultation_key)) if consultation_key.isdecimal() else None
    )
    if not ids or consultation is None:
        return None
    rows = await uow.communities.funnel(ids, consultation.id)
    names = ", ".join(c.name for c in communities if c.id in ids)
    title = f"{consultation.title} – {names}"
    version = await uow.consultations.get_version(consultation)
    if version is not None:
        flow = app.flows.flow(version)
        title = f"{flow.localize(flow.title, language)} – {names}"
    await uow.leaders.audit(
        actor(leader), leader.organisation_id, "stats.view", consultation.slug, communities=ids
    )
    return [say(stats_report(title, rows, texts), language)]


async def _broadcast_act(
    app: App,
    bot: Bot,
    uow: UnitOfWork,
    leader: Leader,
    act: str,
    item: int,
    arg: str,
    language: str,
    texts: Translator,
) -> list[Payload] | None:
    broadcast = await uow.leader_broadcasts.get(item)
    if broadcast is None or broadcast.leader_id != leader.id:
        return None
    community = await _own_community(uow, leader, broadcast.community_id)
    if community is None:
        return None
    editable = broadcast.status in {LeaderBroadcastStatus.DRAFT, LeaderBroadcastStatus.COMPOSING}
    if act == Act.BROADCAST_CANCEL:
        if not await uow.leader_broadcasts.transition(
            broadcast.id,
            [LeaderBroadcastStatus.DRAFT, LeaderBroadcastStatus.COMPOSING],
            LeaderBroadcastStatus.CANCELLED,
        ):
            return None
        await uow.leaders.audit(
            actor(leader), broadcast.organisation_id, "broadcast.cancel", f"broadcast:{item}"
        )
        return [say(texts.gettext("Cancelled. Nothing was sent."), language, edit=True)]
    if not editable:
        return [say(texts.gettext("This message was already sent or cancelled."), language)]
    if act == Act.BROADCAST_CONSULTATION:
        consultation = await _open_consultation(uow, arg)
        if consultation is None or broadcast.kind != "invite":
            return None
        link = await invite_link(uow, consultation, community, leader)
        await broadcasts.set_invitation(
            uow, broadcast, consultation, deep_link(await _username(bot), link.payload)
        )
        return [broadcasts.draft_panel(app, broadcast, community, language)]
    if act == Act.BROADCAST_LANGUAGE:
        await broadcasts.toggle_language(uow, broadcast, community, arg)
        return [{**broadcasts.draft_panel(app, broadcast, community, language), "edit": True}]
    if act == Act.BROADCAST_PREVIEW:
        if not broadcast.languages:
            return [say(texts.gettext("Pick at least one language first."), language)]
        shown = await broadcasts.preview(app, uow, broadcast, community, language)
        await uow.leaders.audit(
            actor(leader),
            broadcast.organisation_id,
            "broadcast.preview",
            f"broadcast:{item}",
            languages=broadcast.languages,
        )
        return [*shown, broadcasts.draft_panel(app, broadcast, community, language)]
    if act == Act.BROADCAST_SEND:
        return [
            _request_answer(
                await broadcasts.request(app, uow, broadcast, leader), app, texts, language
            )
        ]
    return None


def _request_answer(
    result: broadcasts.Request, app: App, texts: Translator, language: str
) -> Payload:
    if result.outcome == "sent":
        text = texts.ngettext(
            "Sent. It is going to {count} person.",
            "Sent. It is going to {count} people.",
            result.recipients,
        ).format(count=result.recipients)
    elif result.outcome == "awaiting":
        text = texts.gettext(
            "Your organisation approves messages before they go out. "
            "I will tell you when it is decided."
        )
    elif result.outcome == "limit":
        text = texts.ngettext(
            "You have sent {count} message today, the most allowed. Please try again tomorrow.",
            "You have sent {count} messages today, the most allowed. Please try again tomorrow.",
            app.settings.leader_daily_broadcasts,
        ).format(count=app.settings.leader_daily_broadcasts)
    elif result.outcome == "nothing":
        text = texts.gettext("Pick at least one language first.")
    else:
        text = texts.gettext("This message was already sent or cancelled.")
    return say(text, language, edit=True)


async def _begin_assist(
    app: App,
    conversations: Conversations,
    leader: Leader,
    who: Who,
    delivery: Delivery,
    language: str,
    texts: Translator,
    community_id: int,
    consultation_key: str,
) -> None:
    async with app.uow() as uow:
        fresh = await uow.leaders.get(leader.id)
        community = await _own_community(uow, leader, community_id)
        consultation = await _open_consultation(uow, consultation_key)
        if fresh is None or community is None or consultation is None:
            await send(uow, delivery, say(texts.gettext("This button no longer works."), language))
            await uow.commit()
            return
        if fresh.assisting_citizen_id is not None:
            await assist.end(uow, fresh, completed=False)
        person = await assist.begin(app, uow, fresh, community, consultation)
        intro = texts.gettext(
            "You are now helping someone answer. Read the next message aloud to them and "
            "tap \u201cYes\u201d only if they agree aloud. Then ask each question and tap or "
            "type their answer. /assist to stop."
        )
        await uow.outbox.enqueue(delivery.chat_id, "dialog", say(intro, language))
        await uow.commit()
    await conversations.open(
        assist.assisted_who(who, person.id),
        consultation.id,
        source="assisted",
        delivery=delivery,
        community_id=community.id,
    )


async def _username(bot: Bot) -> str:
    me = await bot.me()
    if not me.username:
        raise LeaderError("the bot has no username, so it cannot make links")
    return me.username


# --- approvers ---------------------------------------------------------------------------


async def on_approve(
    query: CallbackQuery,
    callback_data: LeaderAct,
    app: App,
    who: Who,
    delivery: Delivery,
    language: str,
    texts: Translator,
) -> None:
    await query.answer()
    async with app.uow() as uow:
        approver = await uow.citizens.find(who.user_id)
        if approver is None or not await broadcasts.may_approve(uow, callback_data.id, approver.id):
            await send(uow, delivery, say(texts.gettext("This button no longer works."), language))
            await uow.commit()
            return
        decision = await broadcasts.decide(
            app, uow, callback_data.id, callback_data.arg == "y", by=f"approver:{approver.id}"
        )
        if decision.outcome == "sent":
            text = texts.ngettext(
                "Approved. It is going to {count} person.",
                "Approved. It is going to {count} people.",
                decision.recipients,
            ).format(count=decision.recipients)
        elif decision.outcome == "rejected":
            text = texts.gettext("Rejected. The leader has been told.")
        else:
            text = texts.gettext("This was already decided.")
        await send(uow, delivery, say(text, language, edit=True))
        await uow.commit()


def get_routers() -> list[Router]:
    """Fresh routers: approvals first (an approver need not be a leader), then the
    leaders'."""
    approvals = Router(name="leader-approvals")
    approvals.callback_query.register(on_approve, LeaderAct.filter(F.act == Act.APPROVE))

    leaders = Router(name="leaders")
    leaders.message.filter(F.chat.type == "private", IsLeader())
    leaders.callback_query.filter(IsLeader())
    leaders.message.register(on_invite, Command("invite"))
    leaders.message.register(on_broadcast, Command("broadcast"))
    leaders.message.register(on_assist, Command("assist"))
    leaders.message.register(on_stats, Command("stats"))
    leaders.message.register(on_assisted_command, Assisting(), Command("back", "skip", "restart"))
    leaders.callback_query.register(on_assisted_tap, Assisting(), Tap.filter())
    leaders.message.register(on_assisted_message, Assisting(), not_a_command)
    leaders.message.register(on_broadcast_text, Composing(), F.text, not_a_command)
    leaders.callback_query.register(on_leader_button, LeaderAct.filter(F.act != Act.APPROVE))
    return [approvals, leaders]
