"""Persistence for Konsulta: everything that must survive a restart.

Dialog progress, answers, consent, the outbox and the inbox of Telegram updates live
here, behind SQLAlchemy 2 async models and small repositories. One unit of work per
event (`storage.uow.UnitOfWork`) commits; repositories never do. The same code runs
on SQLite (aiosqlite, the embedded default) and PostgreSQL (asyncpg) from one URL.

Nothing in this package opens a connection at import time: engines are built by
`storage.engine.create_engine` from the URL in Settings, once, in `main()`.
"""

from storage.engine import create_engine, create_sessionmaker
from storage.migrate import upgrade, upgrade_blocking
from storage.uow import UnitOfWork

__all__ = ["UnitOfWork", "create_engine", "create_sessionmaker", "upgrade", "upgrade_blocking"]
