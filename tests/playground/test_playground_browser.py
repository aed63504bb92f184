"""Stories of people trying the bot in the playground, in a real headless Chromium.

The page is served by `konsulta run --emulator` itself; what the browser clicks reaches
the real bot through the emulator, and what the bot stores is read back from its
SQLite file.
"""

from __future__ import annotations

import json
import re
import sqlite3
import struct
import wave
import zlib
from pathlib import Path
from typing import Any

from playground_world import FAKE_MICROPHONE, RunningBot, launch, screenshot
from playwright.sync_api import expect

SLUPSK = (54.4641, 17.0285)


def tiny_png() -> bytes:
    """A real 2x2 PNG, so the browser can show the photo it sends."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xd0\x30\x30" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def tap(page: Any, label: str) -> None:
    """Tap the newest inline button whose label ends with `label` (emoji may lead)."""
    name = re.compile(rf"^(?:\S+ )?{re.escape(label)}$")
    page.locator(".inline-kb").get_by_role("button", name=name).last.click()


def bot_says(page: Any, text: str) -> None:
    expect(page.locator(".msg.bot .bubble").filter(has_text=text).last).to_be_visible()


def answers_in(database: Path) -> dict[str, Any]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT step_id, value FROM answers ORDER BY id").fetchall()
    return {step: json.loads(value) if isinstance(value, str) else value for step, value in rows}


def test_a_citizen_reports_a_broken_pavement_in_polish_and_is_asked_two_weeks_later(
    page: Any, running_bot: RunningBot, tmp_path: Path
) -> None:
    page.goto(running_bot.url)
    # Sam's phone says English; he picks Polish before starting.
    page.get_by_role("button", name="Sam (en)").click()
    page.get_by_role("combobox", name="Telegram language").select_option("pl")
    expect(page.get_by_role("button", name="Sam (pl)")).to_be_visible()
    page.get_by_role("button", name="Start").click()

    tap(page, "Zgłoszenie problemu w okolicy")
    bot_says(page, "Czy wyraża Pan/Pani zgodę na udział?")
    tap(page, "Tak, zgadzam się")
    tap(page, "Chodnik lub droga")

    bot_says(page, "Prosimy krótko opisać problem")
    message_box = page.get_by_label("Message", exact=True)
    message_box.fill("Dziura w chodniku przed sklepem, ludzie się potykają")
    message_box.press("Enter")

    # The location question brings Telegram's "share location" keyboard button.
    bot_says(page, "Gdzie to jest?")
    page.locator("#reply-keyboard button[data-request=location]").click()
    dialog = page.get_by_role("dialog", name="Share location")
    expect(dialog.get_by_label("Słupsk")).to_be_checked()
    screenshot(page, "playground-share-location")
    dialog.get_by_role("button", name="Send location").click()
    expect(page.locator(".msg.me").filter(has_text="Location 54.4641, 17.0285")).to_be_visible()

    bot_says(page, "Można wysłać zdjęcie")
    photo = tmp_path / "dziura.png"
    photo.write_bytes(tiny_png())
    page.get_by_role("button", name="Attach").click()
    with page.expect_file_chooser() as chooser:
        page.get_by_role("menuitem", name="Photo").click()
    chooser.value.set_files(str(photo))
    expect(page.locator(".msg.me img[alt=Photo]")).to_be_visible()

    tap(page, "Może poczekać")
    bot_says(page, "Od kiedy tak jest?")
    message_box.fill("15.10.2026")
    message_box.press("Enter")

    # Multiple choice: each tap edits the question and ticks the button.
    tap(page, "Starszym osobom")
    expect(page.get_by_role("button", name="✅ Starszym osobom")).to_be_visible()
    tap(page, "Dzieciom")
    expect(page.get_by_role("button", name="✅ Dzieciom")).to_be_visible()
    screenshot(page, "playground-multiple-choice")
    page.locator(".inline-kb").get_by_role("button", name=re.compile(r"^(Gotowe|Done)$")).click()

    bot_says(page, "Czy ten problem był już wcześniej zgłaszany?")
    page.locator(".inline-kb").get_by_role("button", name=re.compile(r"^(Nie|No)$")).last.click()
    tap(page, "Tutaj w czacie")
    bot_says(page, "Dziękujemy za zgłoszenie")
    screenshot(page, "playground-service-need-done")

    answers = answers_in(running_bot.database)
    assert answers["what"] == "pavement"
    assert answers["describe"] == "Dziura w chodniku przed sklepem, ludzie się potykają"
    assert answers["place"] == {"lat": SLUPSK[0], "lon": SLUPSK[1]}
    assert set(answers["photo"]) == {"photo"}
    assert answers["urgency"] == "can_wait"
    assert answers["since"] == "2026-10-15"
    assert sorted(answers["affects"]) == ["children", "seniors"]
    assert answers["reported_before"] is False
    assert answers["contact_pref"] == "chat"

    # Two weeks later, by time travel: the bot asks whether the pavement was fixed.
    page.get_by_role("button", name="+14 days").click()
    expect(page.locator("#clock-now")).to_contain_text("14 days ahead")
    bot_says(page, "Dwa tygodnie temu przyjęliśmy zgłoszenie: Chodnik lub droga")
    tap(page, "Tak")
    screenshot(page, "playground-follow-up")


def test_a_broadcast_from_the_cli_reaches_two_citizens_chats(
    page: Any, running_bot: RunningBot
) -> None:
    page.goto(running_bot.url)
    # A broadcast reaches people who took part in one of the organisation's
    # consultations: both agree to take part in the report one first.
    for name, title, agree, option in (
        ("Anna (pl)", "Zgłoszenie problemu w okolicy", "Tak, zgadzam się", "Chodnik lub droga"),
        (
            "Oleh (uk)",
            "Повідомте про проблему у вашому районі",
            "Так, погоджуюся",
            "Тротуар або дорога",
        ),
    ):
        page.get_by_role("button", name=name).click()
        page.get_by_role("button", name="Start").click()
        tap(page, title)
        tap(page, agree)
        expect(page.locator(".inline-kb").get_by_role("button", name=option)).to_be_visible()

    created = running_bot.konsulta(
        "broadcast",
        "create",
        "--name",
        "library meeting",
        "--segment",
        '{"everyone": true}',
        "--text",
        "pl=Spotkanie w czwartek o 17:00 w bibliotece.",
        "--text",
        "uk=Зустріч у четвер о 17:00 у бібліотеці.",
        "--default-language",
        "pl",
    )
    assert created.returncode == 0, created.stderr
    broadcast_id = re.search(r"broadcast (\d+) created", created.stdout)
    assert broadcast_id, created.stdout
    sent = running_bot.konsulta("broadcast", "send", broadcast_id.group(1))
    assert sent.returncode == 0, sent.stderr

    # Oleh's chat is open: the message appears without a reload (in Ukrainian if the
    # bot keeps his language, else in the default Polish); Anna gets a badge.
    expect(
        page.locator(".msg.bot .bubble").filter(has_text=re.compile("Зустріч|Spotkanie")).last
    ).to_be_visible()
    anna = page.get_by_role("button", name="Anna (pl)")
    expect(anna.locator(".badge")).to_have_text(re.compile(r"^[1-9]$"))  # the broadcast is new
    screenshot(page, "playground-broadcast-oleh")
    anna.click()
    bot_says(page, "Spotkanie w czwartek o 17:00 w bibliotece.")
    screenshot(page, "playground-broadcast-anna")


def short_wav(path: Path, seconds: int = 2) -> Path:
    """A silent WAV file, as a recorded voice note would be picked from disk."""
    with wave.open(str(path), "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(8000)
        recording.writeframes(b"\x00\x00" * 8000 * seconds)
    return path


def test_with_the_keyboard_only_a_citizen_uses_the_menu_writes_arabic_and_sends_media(
    page: Any, running_bot: RunningBot, tmp_path: Path
) -> None:
    page.goto(f"{running_bot.url}/#1004")
    expect(page.get_by_role("button", name="Amira (ar)")).to_have_attribute("aria-current", "true")
    page.get_by_role("button", name="Start").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".msg.bot").first).to_be_visible()

    # The commands menu (from setMyCommands) opens and is walked with the arrow keys.
    page.get_by_role("button", name="Menu").focus()
    page.keyboard.press("Enter")
    menu = page.get_by_role("menu", name="Commands")
    expect(menu.get_by_role("menuitem", name="/start")).to_be_focused()
    page.keyboard.press("ArrowUp")  # wraps round to the last command
    expect(menu.get_by_role("menuitem", name="/help")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".msg.me").filter(has_text="/help")).to_be_visible()

    # Arabic runs right to left in its bubble.
    message_box = page.get_by_label("Message", exact=True)
    message_box.focus()
    page.keyboard.type("مرحبا، أين المكتبة؟")
    page.keyboard.press("Enter")
    arabic = page.locator(".msg.me .bubble .text").filter(has_text="مرحبا")
    expect(arabic).to_be_visible()
    assert arabic.evaluate("node => node.matches(':dir(rtl)')")

    page.get_by_role("button", name="Attach").click()
    with page.expect_file_chooser() as chooser:
        page.get_by_role("menuitem", name="Voice note from a file").click()
    chooser.value.set_files(str(short_wav(tmp_path / "notatka.wav")))
    expect(page.locator(".msg.me audio")).to_be_visible()
    expect(page.locator(".msg.me").filter(has_text="0:02")).to_be_visible()

    page.get_by_role("button", name="Attach").click()
    page.get_by_role("menuitem", name="My phone number").click()
    contact = page.get_by_role("dialog", name="Share your phone number?")
    expect(contact.get_by_label("Phone number")).to_have_value("+48600100204")
    contact.get_by_role("button", name="Share my number").click()
    expect(page.locator(".msg.me").filter(has_text="Amira +48600100204")).to_be_visible()
    page.set_viewport_size({"width": 400, "height": 860})
    screenshot(page, "playground-phone-size")


def test_a_citizen_records_a_voice_note_with_the_microphone_button(
    playwright: Any, running_bot: RunningBot
) -> None:
    chromium = launch(playwright, *FAKE_MICROPHONE)
    try:
        context = chromium.new_context()
        context.set_default_timeout(20_000)
        context.grant_permissions(["microphone"])
        page = context.new_page()
        page.goto(f"{running_bot.url}/#1002")
        # Oleh may have talked to the bot in an earlier story; if not, he starts now.
        page.locator("#start:visible, #composer:visible").first.wait_for()
        if page.locator("#start").is_visible():
            page.get_by_role("button", name="Start").click()
        expect(page.locator(".msg.bot").first).to_be_visible()
        page.get_by_role("button", name="Record a voice note").click()
        stop = page.get_by_role("button", name="Stop and send the voice note")
        expect(stop).to_contain_text("0:01")  # recording, and the timer runs
        stop.click()
        expect(page.locator(".msg.me audio")).to_be_visible()
        expect(page.get_by_role("button", name="Record a voice note")).to_be_visible()
    finally:
        chromium.close()
