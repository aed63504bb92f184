"""The python-telegram-bot adapter: the citizens' journey on the same services, inbox
and outbox as the aiogram runtime (see docs/adapters.md)."""
