"""A dialog's texts and edits go to the Bot API as a plain JSON body (`Sender._send_plain`),
not through aiogram's session: what the session's middlewares did is still done, and
Telegram's refusals mean what they mean for any other call."""

from __future__ import annotations

from pathlib import Path

from database_checks import session_of
from in_process import bot_in_process, settled
from sqlalchemy import select

from konsulta.outbound import OutboundButton, OutboundMessage
from storage.models import Citizen, OpenKeyboard, OutboxKind, OutboxMessage, OutboxStatus

USER = 7_300_001


async def test_a_question_is_noted_a_block_closes_the_chat_and_a_bad_edit_is_given_up(
    tmp_path: Path,
) -> None:
    async with bot_in_process(
        f"sqlite+aiosqlite:///{tmp_path / 'plain.db'}", [], name="plain", migrate=True
    ) as bot:
        bot.emu.citizens.create(USER, "Olga", "uk")
        async with bot.app.uow() as uow:
            citizen = await uow.citizens.get_or_create(USER, USER, secret="s" * 32)
            question = OutboundMessage(
                "Чи задоволені ви автобусами?",
                step_id="bus",
                run_id=1,
                buttons=(OutboundButton("yes", "Так"), OutboundButton("no", "Ні")),
            )
            await uow.outbox.queue(
                USER, OutboxKind.DIALOG, [question.to_payload()], citizen_id=citizen.id
            )
            await uow.commit()
        bot.runtime.sender.wake()
        await settled(bot.app, bot.emu)

        [shown] = bot.emu.bot_messages(USER)
        assert shown.text.endswith("Чи задоволені ви автобусами?")
        async with bot.app.uow() as uow:
            assert await uow.keyboards.newest(USER) == shown.message_id  # noted

        # An edit of a message that does not exist: a 400, given up, nothing retried.
        async with bot.app.uow() as uow:
            bad_edit = OutboundMessage("Дякуємо", edit=True, edit_message_id=999_999)
            await uow.outbox.queue(
                USER, OutboxKind.DIALOG, [bad_edit.to_payload()], citizen_id=citizen.id
            )
            await uow.commit()
        bot.runtime.sender.wake()
        await settled(bot.app, bot.emu)

        # The citizen blocks the bot: the next text is refused (403), the chat's queue
        # closes and the citizen counts as unreachable.
        bot.emu.citizens.block(USER)
        async with bot.app.uow() as uow:
            await uow.outbox.queue(
                USER,
                OutboxKind.DIALOG,
                [OutboundMessage("Ще одне питання").to_payload()] * 2,
                citizen_id=citizen.id,
            )
            await uow.commit()
        bot.runtime.sender.wake()
        await settled(bot.app, bot.emu)

        async with bot.app.uow(read_only=True) as uow:
            session = session_of(uow)
            statuses = (
                await session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id))
            ).all()
            unreachable = await session.scalar(
                select(Citizen.unreachable).where(Citizen.id == citizen.id)
            )
            open_rows = (await session.scalars(select(OpenKeyboard.message_id))).all()
        assert statuses == [
            OutboxStatus.SENT,
            OutboxStatus.FAILED,
            OutboxStatus.BLOCKED,
            OutboxStatus.BLOCKED,
        ]
        assert unreachable
        assert open_rows == [shown.message_id]
        assert bot.runtime.sender.failed == 1
