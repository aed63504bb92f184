"""Bot API errors in the exact shape Telegram answers them.

Bots branch on ``error_code`` and parse ``description`` (aiogram maps them to
exception classes), so the emulator raises one exception type that already carries
Telegram's wording instead of letting each handler build JSON by hand.
"""

from __future__ import annotations

from typing import Any


class BotApiError(Exception):
    """A failed Bot API call, answered as ``{"ok": false, ...}``."""

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> BotApiError:
    return BotApiError(403, f"Forbidden: {detail}")


def not_found() -> BotApiError:
    return BotApiError(404, "Not Found: method not found")


def conflict(detail: str) -> BotApiError:
    return BotApiError(409, f"Conflict: {detail}")


def too_many_requests(retry_after: int) -> BotApiError:
    return BotApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        {"retry_after": retry_after},
    )


def unauthorized() -> BotApiError:
    return BotApiError(401, "Unauthorized")
