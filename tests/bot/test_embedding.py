"""A town's existing aiogram bot takes Konsulta in, and keeps answering its own commands.

The weather bot has its own `Dispatcher` and its own /weather router; it calls
`include_konsulta` to add Konsulta's routers after its own and runs the dispatcher with
Konsulta's runtime (inbox, sender, outreach), against the emulator. One citizen asks
for the weather and gets the bot's own answer, then starts the housing consultation and
answers a question: the two live side by side in one bot.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiogram import Dispatcher, Router
from aiogram.filters import Command
from aiogram.types import Message
from bot_world import FLOWS, Phone, emulator_config
from pydantic import SecretStr

from bot.telegram.routers import include_konsulta
from bot.telegram.runtime import Runtime
from emulator import start_emulator
from konsulta.bootstrap import build_app
from konsulta.publishing import publish, read_flow
from konsulta.settings import Settings

CITIZEN = 4242801


def weather_router() -> Router:
    """The town bot's own feature, written as any aiogram bot writes it."""
    router = Router(name="weather")

    @router.message(Command("weather"))
    async def on_weather(message: Message) -> None:
        await message.answer("Sunny, 21°C in Wąchock today.")

    return router


async def test_a_town_bot_answers_its_weather_next_to_konsultas_start(tmp_path: Path) -> None:
    emu = await start_emulator("127.0.0.1", 0, emulator_config())
    app = await build_app(
        Settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'town.db'}",
            api_base_url=emu.base_url,
            bot_token=SecretStr("7000000001:town-bot-token"),
            pseudonym_secret=SecretStr("town-bot-pseudonym-secret"),
            rate_per_chat=1000.0,
            rate_per_second=1000.0,
            flood_messages=1000,  # flood control has its own story
            _env_file=None,  # type: ignore[call-arg]
        ),
        migrate=True,
    )
    flow, text = read_flow(FLOWS)
    async with app.uow() as uow:
        await publish(uow, flow, text, open_now=True)
        await uow.commit()

    dispatcher = Dispatcher()
    dispatcher.include_router(weather_router())  # the bot's own routers first
    include_konsulta(dispatcher, app)
    runtime = Runtime.build(app, dispatcher=dispatcher)
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.run(stop, webhook=False))
    try:
        citizen = Phone(emu, CITIZEN, "pl", "Zofia")
        await citizen.send("/weather")
        [weather] = await citizen.expect(1)
        assert weather.text == "Sunny, 21°C in Wąchock today."

        await citizen.send("/start senior-housing")
        [consent] = await citizen.expect(1)
        assert "Zanim zaczniemy" in (consent.text or "")
        await citizen.tap(consent, "agree")
        _welcome, age = await citizen.expect(2)
        assert "Ile ma Pan/Pani lat?" in (age.text or "")
        await citizen.answer("age", ["75_84"])

        # The bot's own command still answers mid-consultation, and the dialog goes on.
        await citizen.send("/weather")
        [again] = await citizen.expect(1)
        assert again.text == weather.text
        [years] = await citizen.answer("lives_with", ["alone"])
        assert "Od ilu lat" in (years.text or "")
        # Not `settled`: the worker leaves a handler's update for the handler to mark, and
        # the weather handler does not know the inbox (docs/adapters.md, "Embedding").

        async with app.uow() as uow:
            found = await uow.citizens.find(CITIZEN)
            assert found is not None
            [run] = await uow.runs.list_for_citizen(found.id)
            answers = {a.step_id: a.value for a in await uow.answers.list_for_run(run.id)}
        assert answers == {"age": "75_84", "lives_with": "alone"}
    finally:
        stop.set()
        await task
        await app.close()
        await emu.close()
