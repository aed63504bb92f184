"""A citizen's answer to staff does not wait unseen: every page of the dashboard counts
the organisation's unread replies, the replies page lists their threads, and opening a
thread reads it for everyone in the organisation. A conversation stays in the inbox
until staff mark it done, and comes back when the citizen writes again."""

from __future__ import annotations

import re
from collections.abc import Callable

from dialogs.events import TextInput
from konsulta.bootstrap import App
from konsulta.conversations import Conversations, Who
from tests.review.conftest import Browser, logged_in


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_a_citizens_reply_is_counted_until_someone_opens_the_thread(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    viewer = await logged_in(browser_factory, "viewer-a@example.org")
    other_org = await logged_in(browser_factory, "staff-b@example.org")
    anna = people["anna"]
    sent = await staff.post(f"/citizens/{anna}/reply", {"text": "Benches come in spring."})
    assert sent.status_code == 303
    assert 'data-unread="0"' in (await staff.get("/consultations")).text

    # Anna, with no dialog open, writes back twice in Telegram.
    for text in ("Thank you!", "And a bin, please."):
        await Conversations(app).handle(Who("telegram", 1001, 1001), TextInput(text), delivery=None)

    page = (await viewer.get("/consultations")).text
    assert 'data-unread="2"' in page and 'title="2 unread replies">2</span>' in page
    assert 'data-unread="0"' in (await other_org.get("/consultations")).text  # not theirs
    consultation = _text((await viewer.get("/consultations/park-survey")).text)
    assert "1 participant wrote to you and nobody has read it yet" in consultation
    replies = _text((await viewer.get("/replies")).text)
    assert f"{anna} 2 new messages" in replies

    # The staff member opens the thread: both messages are marked there, and read now.
    thread = await staff.get(f"/citizens/{anna}")
    assert thread.text.count('class="in unread"') == 2
    assert 'data-unread="0"' in thread.text  # the count already leaves them out
    assert 'data-unread="0"' in (await viewer.get("/consultations")).text
    # Read, but not done: the conversation stays in the inbox, without the badge.
    listed = _text((await viewer.get("/replies")).text)
    assert anna in listed and "new message" not in listed
    assert "nobody has read" not in (await viewer.get("/consultations/park-survey")).text
    again = await viewer.get(f"/citizens/{anna}")
    assert "unread" not in again.text.split("<ol", 1)[1].split("</ol>", 1)[0]


async def test_the_replies_page_is_polish_with_polish_plurals(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await staff.post("/language", {"language": "pl", "back": "/replies"})
    await staff.post(f"/citizens/{people['anna']}/reply", {"text": "Ławki będą wiosną."})
    await Conversations(app).handle(
        Who("telegram", 1001, 1001), TextInput("Dzięki!"), delivery=None
    )
    page = (await staff.get("/replies")).text
    assert "Odpowiedzi" in page and 'title="1 nieprzeczytana odpowiedź">1</span>' in page
    assert "1 nowa wiadomość" in _text(page)


async def test_a_conversation_marked_done_leaves_the_inbox_until_the_citizen_writes_again(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    viewer = await logged_in(browser_factory, "viewer-a@example.org")
    other_org = await logged_in(browser_factory, "staff-b@example.org")
    admin = await logged_in(browser_factory, "admin-a@example.org")
    anna = people["anna"]
    await staff.post(f"/citizens/{anna}/reply", {"text": "Benches come in spring."})
    anna_writes = Conversations(app).handle
    await anna_writes(Who("telegram", 1001, 1001), TextInput("Where exactly?"), delivery=None)
    assert "Mark as done" in (await staff.get("/replies")).text
    assert "Mark as done" not in (await viewer.get("/replies")).text  # viewers only read

    assert (await viewer.post(f"/citizens/{anna}/done")).status_code == 403
    assert (await other_org.post(f"/citizens/{anna}/done")).status_code == 404
    assert anna in (await staff.get("/replies")).text

    done = await staff.post(f"/citizens/{anna}/done", {"back": "replies"})
    assert done.status_code == 303 and done.headers["location"] == "/replies"
    inbox = (await staff.get("/replies")).text
    assert "No conversations waiting." in inbox and anna not in inbox
    assert 'data-unread="0"' in inbox  # done is read too
    assert "Mark as done" not in (await staff.get(f"/citizens/{anna}")).text
    audit = _text((await admin.get("/audit?action=thread_done")).text)
    assert "thread_done" in audit and "staff-a@example.org" in audit

    await anna_writes(Who("telegram", 1001, 1001), TextInput("By the pond?"), delivery=None)
    assert f"{anna} 1 new message" in _text((await staff.get("/replies")).text)
