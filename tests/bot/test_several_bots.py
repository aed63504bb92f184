"""Several bots in one process, each serving its own organisations (issue 14).

A town hall runs its main bot; the town's social-services centre (MOPS) has its own
bot name in the same deployment. Each bot has its own Telegram (here: its own
emulator), its own citizens, its own webhook path and secret, and offers only its
organisations' consultations. Telegram numbers each bot's updates on its own, so both
bots' first update is number 1: both are handled, neither is taken for a replay.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import in_process
from bot_world import eventually, free_port
from database_checks import session_of
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.telegram.runtime import SECRET_HEADER, Runtime, run_bots
from emulator import Emulator, EmulatorConfig, start_emulator
from konsulta.bootstrap import App, build_app
from konsulta.leaders.service import add_community, add_leader, make_leader_link, remove_leader
from konsulta.publishing import publish, read_flow
from konsulta.settings import BotSettings, Settings
from storage.models import Citizen, InboxUpdate

FLOWS = Path(__file__).resolve().parents[2] / "dialogs" / "flows"
MAIN_SECRET = "main-bot-webhook-secret-of-the-several-bots-story"
MOPS_SECRET = "mops-bot-webhook-secret-of-the-several-bots-story"
ANNA = 4_100_001  # the same Telegram user talks to both bots
OLEH = 4_100_002  # made a leader of the MOPS community from the CLI


@dataclass
class Deployment:
    app: App
    town: Emulator  # the main bot's Telegram
    mops: Emulator  # the MOPS bot's Telegram


def _emulator_config() -> EmulatorConfig:
    config = EmulatorConfig()
    config.rate_limits.enabled = False
    return config


@asynccontextmanager
async def deployment(db_url: str, *, webhook_port: int | None = None) -> AsyncIterator[Deployment]:
    """The town's bot serves `town`, the MOPS bot `mops`, both in this process."""
    town = await start_emulator("127.0.0.1", 0, _emulator_config())
    mops = await start_emulator("127.0.0.1", 0, _emulator_config())
    webhook = {}
    if webhook_port is not None:
        webhook = {
            "webhook_url": f"http://127.0.0.1:{webhook_port}/telegram/webhook",
            "webhook_port": webhook_port,
        }
    app = await build_app(
        Settings(
            database_url=db_url,
            api_base_url=town.base_url,
            bot_token=SecretStr("7000000001:town-test-token"),
            webhook_secret=SecretStr(MAIN_SECRET),
            pseudonym_secret=SecretStr("several-bots-test-secret"),
            bot_organisations=["town"],
            bots=[
                BotSettings(
                    name="mops",
                    token=SecretStr("7000000002:mops-test-token"),
                    webhook_secret=SecretStr(MOPS_SECRET),
                    organisations=["mops"],
                    api_base_url=mops.base_url,
                )
            ],
            rate_per_chat=1000.0,
            rate_per_second=1000.0,
            flood_messages=1000,
            _env_file=None,  # type: ignore[call-arg]
            **webhook,
        )
    )
    async with app.uow() as uow:
        flow, text = read_flow(FLOWS / "youth-ideas.yaml")
        await publish(uow, flow, text, open_now=True, organisation_as="town")
        flow, text = read_flow(FLOWS / "service-need.yaml")
        await publish(uow, flow, text, open_now=True, organisation_as="mops")
        await uow.commit()
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_bots(Runtime.build_all(app), stop, webhook=webhook_port is not None)
    )
    try:
        yield Deployment(app, town, mops)
    finally:
        stop.set()
        await task
        await app.close()
        await town.close()
        await mops.close()


async def settled(world: Deployment) -> None:
    await in_process.settled(world.app, world.town, world.mops)


def buttons(emu: Emulator, user: int) -> list[str]:
    last = emu.bot_messages(user)[-1]
    return [b["text"] for row in (last.reply_markup or {}).get("inline_keyboard", []) for b in row]


async def test_each_bot_offers_its_own_organisations_consultations_to_its_own_citizens(
    db_url: str,
) -> None:
    async with deployment(db_url) as world:
        world.town.citizens.create(ANNA, "Anna", "en")
        world.mops.citizens.create(ANNA, "Anna", "en")

        # The town's bot lists the town's consultation only, the MOPS bot its own.
        await world.town.citizens.send_text(ANNA, "/start")
        await world.mops.citizens.send_text(ANNA, "/start")
        await settled(world)
        town_menu, mops_menu = buttons(world.town, ANNA), buttons(world.mops, ANNA)
        assert any("idea" in label.lower() for label in town_menu), town_menu
        assert not any("idea" in label.lower() for label in mops_menu), mops_menu
        assert len(town_menu) >= 1 and len(mops_menu) >= 1

        # A link to the town's consultation, opened in the MOPS bot, finds nothing.
        await world.mops.citizens.send_text(ANNA, "/start youth-ideas")
        await settled(world)
        said = world.mops.bot_messages(ANNA)[-1].text or ""
        assert "could not find" in said, said

        # The MOPS bot's own consultation opens there, and its consent comes from it.
        before = len(world.town.bot_messages(ANNA))
        await world.mops.citizens.send_text(ANNA, "/start service-need")
        await settled(world)
        assert len(world.town.bot_messages(ANNA)) == before  # nothing through the town's bot
        assert world.mops.bot_messages(ANNA)[-1].callback_data()

        # Anna is two participants, one per bot; /stop in one bot stops only that one.
        await world.mops.citizens.send_text(ANNA, "/stop")
        await settled(world)
        async with world.app.uow() as uow:
            town_anna = await uow.citizens.find(ANNA, channel="telegram")
            mops_anna = await uow.citizens.find(ANNA, channel="telegram:mops")
            assert town_anna is not None and mops_anna is not None
            assert town_anna.participant_id != mops_anna.participant_id
            assert (town_anna.stopped, mops_anna.stopped) == (False, True)
            # Both bots' updates are in the inbox under the same numbers, each handled.
            rows = (await session_of(uow).execute(select(InboxUpdate))).scalars().all()
            numbers = {bot: {r.update_id for r in rows if r.bot == bot} for bot in ("", "mops")}
            assert numbers[""] & numbers["mops"]  # the same update ids, both kept
            assert all(r.handled_at is not None and r.error is None for r in rows)

        # A staff reply (outreach does the same) goes out by the citizen's own bot.
        async with world.app.uow() as uow:
            await uow.citizens.set_flags(mops_anna, stopped=False)
            chat = await uow.citizens.chat_id(mops_anna.id)
            assert chat == ANNA
            await uow.outbox.enqueue(
                chat,
                "reply",
                {"text": "A reply from MOPS", "language": "en"},
                citizen_id=mops_anna.id,
            )
            await uow.commit()
        await settled(world)
        assert world.mops.bot_messages(ANNA)[-1].text == "A reply from MOPS"
        assert "A reply from MOPS" not in [m.text for m in world.town.bot_messages(ANNA)]
        async with world.app.uow() as uow:
            count = await session_of(uow).scalar(select(func.count()).select_from(Citizen))
        assert count == 2

        # A one-time leader link of MOPS, opened in the MOPS bot: Anna leads there only.
        async with world.app.uow() as uow:
            community = await add_community(uow, "mops", "Klub Seniora", ["pl"], by="test")
            made = await make_leader_link(uow, community, by="test", now=world.app.clock.now())
            await uow.commit()
        await world.mops.citizens.send_text(ANNA, f"/start {made.payload}")
        await settled(world)
        assert "Klub Seniora" in (world.mops.bot_messages(ANNA)[-1].text or "")
        async with world.app.uow() as uow:
            assert await uow.leaders.find_active(ANNA, channel="telegram:mops") is not None
            assert await uow.leaders.find_active(ANNA, channel="telegram") is None

        # The CLI's `leaders add` and `leaders remove` act in the organisation's bot too.
        async with world.app.uow() as uow:
            await add_leader(world.app, uow, OLEH, "Klub Seniora", "mops")
            await uow.commit()
        async with world.app.uow() as uow:
            assert await uow.leaders.find_active(OLEH, channel="telegram:mops") is not None
            assert await uow.citizens.find(OLEH) is None  # not made a main-bot citizen
            assert await remove_leader(world.app, uow, OLEH, "mops") == 0
            await uow.commit()


async def test_each_bot_has_its_own_webhook_path_and_secret(db_url: str) -> None:
    port = free_port()
    async with deployment(db_url, webhook_port=port) as world:
        base = f"http://127.0.0.1:{port}/telegram/webhook"
        # setWebhook is no chat event, so the emulator's `wait_until` would not wake.
        await eventually(lambda: None not in (world.town.state.webhook, world.mops.state.webhook))
        assert world.town.state.webhook is not None and world.mops.state.webhook is not None
        assert world.town.state.webhook.url == base
        assert world.mops.state.webhook.url == f"{base}/mops"
        assert world.mops.state.webhook.secret_token == MOPS_SECRET

        # Updates come in by each bot's webhook and are answered by that bot.
        world.town.citizens.create(ANNA, "Anna", "en")
        world.mops.citizens.create(ANNA, "Anna", "en")
        await world.mops.citizens.send_text(ANNA, "/start service-need")
        await world.town.citizens.send_text(ANNA, "/start youth-ideas")
        await settled(world)
        assert world.mops.bot_messages(ANNA)[-1].callback_data()
        assert world.town.bot_messages(ANNA)[-1].callback_data()

        # One bot's secret does not open another bot's path.
        update = {
            "update_id": 77,
            "message": {
                "message_id": 1,
                "date": 0,
                "text": "/stop",
                "chat": {"id": ANNA, "type": "private"},
                "from": {"id": ANNA, "is_bot": False, "first_name": "Mallory"},
            },
        }
        async with aiohttp.ClientSession() as http:
            for path, secret in ((f"{base}/mops", MAIN_SECRET), (base, MOPS_SECRET)):
                async with http.post(path, json=update, headers={SECRET_HEADER: secret}) as r:
                    assert r.status == 401
        async with world.app.uow() as uow:
            mops_anna = await uow.citizens.find(ANNA, channel="telegram:mops")
            assert mops_anna is not None and not mops_anna.stopped
