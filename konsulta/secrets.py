"""The deployment's secrets: which settings they are, when one is too weak, fresh ones.

A published default secret is no secret: with the default pseudonym secret anyone can
reverse participant ids, with the default session secret anyone can sign a staff
cookie, with the default webhook secret anyone can forge updates. So the commands that
serve citizens or staff (`konsulta run`, `konsulta web`) refuse to start with a default
or short secret; only the emulator's sandbox (`run --emulator`) and the test suite,
which pass their own, run without real ones.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from pydantic import SecretStr

from konsulta.settings import Settings

#: Under this many bytes a secret is refused (256 bits, the HMAC-SHA256 key size).
MIN_SECRET_BYTES = 32

#: The secret settings Konsulta can generate, and what each protects.
GENERATED = {
    "pseudonym_secret": "turns Telegram ids into participant ids (keep it: changing it "
    "gives every citizen a new participant id)",
    "webhook_secret": "proves an update comes from Telegram (webhook mode)",
    "web_session_secret": "signs the dashboard's session cookies",
}


@dataclass(frozen=True)
class WeakSecret:
    setting: str
    reason: str

    @property
    def variable(self) -> str:
        if self.setting.startswith("bots["):  # one bot of the JSON list
            return f"KONSULTA_BOTS: {self.setting}"
        return f"KONSULTA_{self.setting.upper()}"

    def __str__(self) -> str:
        if self.setting == "bot_token":
            return f"{self.variable} {self.reason}: set the token @BotFather gave your bot."
        return (
            f"{self.variable} {self.reason}. Make one with `konsulta secrets generate` "
            "and set it in the environment or in .env."
        )


def weak_secrets(settings: Settings, names: list[str]) -> list[WeakSecret]:
    """The settings among `names` that hold a default or too short a secret."""
    weak = []
    for name in names:
        value: SecretStr = getattr(settings, name)
        default = Settings.model_fields[name].default
        text = value.get_secret_value()
        if isinstance(default, SecretStr) and text == default.get_secret_value():
            weak.append(WeakSecret(name, "is the published default"))
        elif name == "bot_token":
            continue  # Telegram makes tokens; their length is Telegram's business
        elif len(text.encode()) < MIN_SECRET_BYTES:
            weak.append(WeakSecret(name, f"is shorter than {MIN_SECRET_BYTES} bytes"))
    return weak


def weak_bot_secrets(settings: Settings, *, webhook: bool) -> list[WeakSecret]:
    """The same rule for the other bots of `KONSULTA_BOTS`: each webhook secret (in
    webhook mode) long enough and not another bot's, so one bot's secret cannot forge
    another's updates."""
    weak = []
    seen = {settings.webhook_secret.get_secret_value()}
    for bot in settings.bots if webhook else []:
        text = bot.webhook_secret.get_secret_value()
        setting = f"bots[{bot.name}].webhook_secret"
        if len(text.encode()) < MIN_SECRET_BYTES:
            weak.append(WeakSecret(setting, f"is shorter than {MIN_SECRET_BYTES} bytes"))
        elif text in seen:
            weak.append(WeakSecret(setting, "is the same as another bot's"))
        seen.add(text)
    return weak


def generate_secrets() -> dict[str, str]:
    """A fresh value for every secret setting Konsulta can make (48 random bytes each)."""
    return {name: secrets.token_urlsafe(48) for name in GENERATED}
