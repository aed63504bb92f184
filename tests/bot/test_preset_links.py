"""Residents open the service-feedback consultation from the poster at their service
point: the poster's link names the provider, so they are not asked which service.

The poster of the home care service links to `service-feedback__provider__home_care`
(konsulta/deeplinks.py). After the consent the resident sees the provider question
already answered and goes on to the next one; the stored answer is the provider, as
if tapped, and the run remembers the link it came from. A poster with a mistyped key
still opens the consultation, and the question is asked as usual.
"""

from __future__ import annotations

from bot_world import REPO, Konsulta

from konsulta.deeplinks import preset_payload
from konsulta.publishing import publish, read_flow

SERVICE_FEEDBACK = REPO / "dialogs" / "flows" / "service-feedback.yaml"


async def test_a_poster_link_names_the_provider_and_a_wrong_one_asks(world: Konsulta) -> None:
    flow, text = read_flow(SERVICE_FEEDBACK)
    async with world.uow() as uow:
        await publish(uow, flow, text, open_now=True)
        await uow.commit()
    world.bot.start()
    payload = preset_payload("service-feedback", "provider", "home_care")
    assert payload == "service-feedback__provider__home_care"

    resident = world.phone(4242901, "pl", "Irena")
    await resident.send(f"/start {payload}")
    [consent] = await resident.expect(1)
    assert "Ocena usług miejskich" in (consent.text or "")
    await resident.tap(consent, "agree")
    welcome, chosen, user = await resident.expect(3)
    assert "Dzień dobry" in (welcome.text or "")
    # The provider question, answered by the link, without buttons to tap.
    assert "Której usługi dotyczy ocena?" in (chosen.text or "")
    assert "✓ Opieka w domu (Fundacja „Pomocna Dłoń”)" in (chosen.text or "")
    assert not chosen.callback_data()
    assert "Kto korzysta z tej usługi?" in (user.text or "")
    await resident.answer("user", ["relative"])

    # A typo on the poster: the consultation opens and the question is asked.
    neighbour = world.phone(4242902, "pl", "Marek")
    await neighbour.send("/start service-feedback__provider__home_cara")
    [consent] = await neighbour.expect(1)
    await neighbour.tap(consent, "agree")
    _welcome, provider = await neighbour.expect(2)
    assert "Której usługi dotyczy ocena?" in (provider.text or "")
    assert neighbour.label(provider, "home_care").startswith("Opieka w domu")
    await neighbour.answer("provider", ["shelter"])
    await world.settled()

    async with world.uow() as uow:
        stored = {}
        for phone in (resident, neighbour):
            citizen = await uow.citizens.find(phone.user_id)
            assert citizen is not None
            [run] = await uow.runs.list_for_citizen(citizen.id)
            answers = {a.step_id: a for a in await uow.answers.list_for_run(run.id)}
            stored[phone.user_id] = (run.source, answers)
    source, answers = stored[resident.user_id]
    assert source == "link:service-feedback__provider__home_care"
    assert answers["provider"].value == "home_care"
    assert answers["provider"].display_text == "Opieka w domu (Fundacja „Pomocna Dłoń”)"
    assert answers["user"].value == "relative"
    _source, answers = stored[neighbour.user_id]
    assert answers["provider"].value == "shelter"
