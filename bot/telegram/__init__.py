"""The Telegram runtime on aiogram 3: updates in through the inbox, messages out
through the one sender, everything in between delegated to the services."""
