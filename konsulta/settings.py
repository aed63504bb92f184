"""Konsulta's configuration: environment variables with the prefix KONSULTA_, or `.env`.

Built once in `main()` and handed down; nothing reads the environment elsewhere, so a
test can run several differently-configured bots in one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.types import channel_of_bot

BUNDLED_FLOWS = Path(__file__).resolve().parent.parent / "dialogs" / "flows"


class BotSettings(BaseModel):
    """One more bot of the deployment (`KONSULTA_BOTS`, a JSON list): a municipality's
    own bot name beside the main bot, or a regional bot for several NGOs. Its citizens
    are its own (a person who talks to two bots is two participants), and it offers
    only its organisations' consultations."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$", description="Short name, unique")
    token: SecretStr = Field(description="The bot's token from @BotFather")
    webhook_secret: SecretStr = Field(
        default=SecretStr(""), description="Its X-Telegram-Bot-Api-Secret-Token (webhook)"
    )
    organisations: list[str] = Field(min_length=1, description="Slugs of the organisations")
    username: str = Field(default="", description="Its @username, for links (else getMe)")
    api_base_url: str = Field(
        default="", description="Its Bot API server, if not KONSULTA_API_BASE_URL's"
    )


@dataclass(frozen=True)
class BotConfig:
    """A bot as the runtime sees it, the main one (`name` "") included."""

    name: str
    token: SecretStr
    webhook_secret: SecretStr
    webhook_path: str
    username: str
    #: Slugs of the organisations it serves; None: every organisation.
    organisations: frozenset[str] | None
    api_base_url: str

    @property
    def channel(self) -> str:
        return channel_of_bot(self.name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KONSULTA_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///konsulta.db",
        description="SQLAlchemy URL; sqlite+aiosqlite:///file.db or postgresql+asyncpg://...",
    )
    flows_dir: Path = Field(
        default=BUNDLED_FLOWS, description="Folder of consultation YAML files to publish"
    )
    default_language: str = Field(default="pl", description="Language when nothing else says")
    default_timezone: str = Field(default="Europe/Warsaw", description="IANA zone of citizens")
    pseudonym_secret: SecretStr = Field(
        default=SecretStr("change-me-in-production"),
        description="Key of the HMAC that turns Telegram ids into participant ids",
    )
    organisation: str = Field(
        default="demo", description="Slug of the organisation that publishes via the CLI"
    )
    # Telegram
    bot_token: SecretStr = Field(
        default=SecretStr("123456:EMULATOR-TOKEN"), description="Bot token from @BotFather"
    )
    bot_username: str = Field(
        default="",
        description="The bot's @username for links the dashboard makes (empty: asked with getMe)",
    )
    api_base_url: str = Field(
        default="https://api.telegram.org",
        description="Bot API server; the emulator or a local telegram-bot-api",
    )
    webhook_url: str | None = Field(default=None, description="Public HTTPS URL for webhooks")
    webhook_secret: SecretStr = Field(
        default=SecretStr("change-me-webhook-secret"),
        description="X-Telegram-Bot-Api-Secret-Token the webhook expects",
    )
    webhook_host: str = Field(default="127.0.0.1", description="Address the webhook binds")
    webhook_port: int = Field(default=8443, description="Port the webhook listens on")
    webhook_path: str = Field(default="/telegram/webhook", description="Path of the webhook")
    bot_organisations: list[str] = Field(
        default_factory=list,
        description="Slugs of the organisations the main bot serves (empty: every one)",
    )
    bots: list[BotSettings] = Field(
        default_factory=list,
        description='More bots in the same process, as JSON: [{"name", "token", '
        '"webhook_secret", "organisations": [...], "username"}] (docs/operations.md)',
    )
    privacy_version: str = Field(default="2026-11", description="Version of the privacy notice")
    # sending
    rate_per_second: float = Field(default=30.0, description="Messages/s for the whole bot")
    rate_per_chat: float = Field(default=1.0, description="Messages/s to one chat")
    paid_broadcast: bool = Field(
        default=False, description="Use allow_paid_broadcast: up to 1000 messages/s"
    )
    flood_messages: int = Field(default=5, description="Messages per flood window before a notice")
    flood_window_seconds: float = Field(default=2.0, description="Flood-control window")
    # staff dashboard (konsulta web)
    web_session_secret: SecretStr = Field(
        default=SecretStr("change-me-web-session-secret"),
        description="Key that signs the dashboard's session cookies",
    )
    web_secure_cookies: bool = Field(
        default=True, description="Send session cookies over HTTPS only (false for local http)"
    )
    web_session_hours: float = Field(default=8.0, description="Dashboard session lifetime")
    login_max_failures: int = Field(
        default=5, description="Failed logins in a row before an account is locked"
    )
    login_max_failures_per_address: int = Field(
        default=20,
        description="Failed logins from one address (any e-mail) before it must wait",
    )
    login_lockout_minutes: float = Field(
        default=15.0, description="How long a locked dashboard account waits"
    )
    web_stats_max_age_seconds: float = Field(
        default=30.0,
        description="Seconds before dashboard answer charts are recounted (0: on every view)",
    )
    public_min_group: int = Field(
        default=10,
        ge=2,
        description="Fewest people a public results number may stand for (k-anonymity)",
    )
    open_data_licence: Literal[
        "CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "ODC-BY-1.0", "ODbL-1.0", "PDDL-1.0"
    ] = Field(
        default="CC-BY-4.0",
        description="Licence named in the open-data packages of public results",
    )
    public_embed_ancestors: str = Field(
        default="*",
        pattern=r"^[^;,\r\n]+$",
        description="CSP frame-ancestors of the public results widget (sites that may embed it)",
    )
    reply_window_days: int = Field(
        default=30,
        description="Days after a staff reply in which a citizen's message joins the thread",
    )

    # reading aloud (docs/speech.md)
    tts: Literal["espeak", "piper", "off"] = Field(
        default="off",
        description="Text-to-speech engine for voice messages: espeak (needs espeak-ng), "
        "piper (needs KONSULTA_TTS_MODELS) or off",
    )
    tts_models: Path | None = Field(
        default=None,
        description="Folder of Piper voices (<voice>.onnx with its .onnx.json); never downloaded",
    )

    # machine transcripts of voice answers (docs/speech.md)
    stt: Literal["vosk", "whisper", "off"] = Field(
        default="off",
        description="Speech-to-text for citizens' voice notes: vosk or whisper "
        "(faster-whisper), each with a model in KONSULTA_STT_MODELS, or off",
    )
    stt_models: Path | None = Field(
        default=None,
        description="Folder of speech-to-text models (Vosk: one folder per language; "
        "Whisper: a CTranslate2 model); never downloaded",
    )

    # local leaders
    leader_daily_broadcasts: int = Field(
        default=3, description="Broadcasts one leader may send (or ask to send) per 24 hours"
    )

    # outreach (follow-ups, reminders, broadcasts, results)
    controllable_clock: bool = Field(
        default=False,
        description="Let `konsulta clock advance` move the bot's clock (tests, playground)",
    )
    outreach_tick_seconds: float = Field(
        default=5.0, description="How often the scheduler looks for due follow-ups and more"
    )
    reminder_delay_hours: float = Field(
        default=24.0, description="Hours after a citizen stops half-way before a reminder"
    )
    reminder_max: int = Field(default=1, ge=0, description="Reminders per unfinished run")
    retention_months: int = Field(
        default=12,
        ge=1,
        le=120,
        description="Months after a consultation closes until its participants' personal "
        "data is deleted (a flow's retention_months overrides it)",
    )
    quiet_hours_start: str = Field(
        default="21:00", description="Start of the night in the citizen's timezone (HH:MM)"
    )
    quiet_hours_end: str = Field(
        default="08:00", description="End of the night in the citizen's timezone (HH:MM)"
    )
    sender_processes: int = Field(
        default=1,
        description="Bot processes sending for this bot; each keeps 1/N of the limits",
    )
    send_lease_seconds: float = Field(
        default=10.0, description="How long a claimed outbox row is held by one sender"
    )
    broadcast_window_seconds: float = Field(
        default=5.0, description="Seconds of sending a broadcast keeps queued in the outbox"
    )
    sender_halt_after: int = Field(
        default=0, description="Test hook: the sender stops after this many sends (0: never)"
    )
    sender_halt_file: Path | None = Field(
        default=None, description="Test hook: file the sender writes when it has halted"
    )

    # operations: several workers, health, metrics, logs (docs/operations.md)
    worker_name: str | None = Field(
        default=None,
        max_length=64,
        description="This bot process's name among the workers on one database "
        "(default: host name and webhook port, or host name and 'polling'); unique per "
        "live worker",
    )
    webhook_reuse_port: bool = Field(
        default=False,
        description="Bind the webhook port with SO_REUSEPORT, shared with the other "
        "workers `konsulta run --webhook --workers N` starts (set for them)",
    )
    inbox_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long a worker holds the updates it stored without renewing; "
        "a dead worker's updates are taken over this much later",
    )
    health_host: str = Field(
        default="127.0.0.1", description="Address of the health and metrics server"
    )
    health_port: int | None = Field(
        default=None,
        description="Port of the health and metrics server (/healthz, /readyz, /metrics); "
        "unset: none (the webhook server still answers /healthz and /readyz)",
    )
    bot_api_fresh_seconds: float = Field(
        default=120.0,
        gt=0,
        description="/readyz: a Bot API call that succeeded this recently means reachable "
        "(older: one getMe is made, at most once per this interval)",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as text or as one JSON object per line"
    )

    def redacted(self) -> dict[str, object]:
        """The settings as shown in logs and `konsulta settings`: secrets stay hidden."""
        return {
            name: ("**********" if isinstance(value, SecretStr) else value)
            for name, value in self.model_dump().items()
        }

    @field_validator("bots")
    @classmethod
    def _names_unique(cls, bots: list[BotSettings]) -> list[BotSettings]:
        names = [bot.name for bot in bots]
        if len(set(names)) != len(names):
            raise ValueError("two bots in KONSULTA_BOTS share a name")
        return bots

    def all_bots(self) -> list[BotConfig]:
        """The main bot, then every one of `bots`; each other bot's webhook is the main
        path followed by `/<name>`."""
        main = BotConfig(
            name="",
            token=self.bot_token,
            webhook_secret=self.webhook_secret,
            webhook_path=self.webhook_path,
            username=self.bot_username,
            organisations=frozenset(self.bot_organisations) or None,
            api_base_url=self.api_base_url,
        )
        others = [
            BotConfig(
                name=bot.name,
                token=bot.token,
                webhook_secret=bot.webhook_secret,
                webhook_path=f"{self.webhook_path.rstrip('/')}/{bot.name}",
                username=bot.username,
                organisations=frozenset(bot.organisations),
                api_base_url=bot.api_base_url or self.api_base_url,
            )
            for bot in self.bots
        ]
        return [main, *others]

    def bot_for(self, organisation: str) -> BotConfig:
        """The bot an organisation's citizens are sent to (its links, QR posters): the
        first of `bots` that serves it, else the main bot."""
        bots = self.all_bots()
        for bot in bots[1:]:
            if bot.organisations is not None and organisation in bot.organisations:
                return bot
        return bots[0]
