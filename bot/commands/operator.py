"""Who ran a CLI command, for the audit log.

The dashboard's audit rows name a staff account; the command line has none. An
operator's command that reads or sends citizens' data (`export`, `broadcast`,
`results`) is audited with the actor "cli", so the log's filter by actor finds every
command-line action, and with `os_user` in the details: the operating-system account
that ran it, read from the process (its uid), not from the environment, which anyone
can set. It is exactly as trustworthy as the server's shell accounts: give each
operator their own.
"""

from __future__ import annotations

import os
import pwd
from typing import Any

from konsulta.bootstrap import App
from storage.uow import UnitOfWork

__all__ = ["CLI_ACTOR", "audit", "os_user", "record"]

CLI_ACTOR = "cli"


def os_user() -> str:
    """The name of the account this process runs as (its uid if it has no name)."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"


async def record(
    app: App,
    action_name: str,
    target: str | None,
    *,
    consultation_id: int | None = None,
    consultation: str | None = None,
    **detail: Any,
) -> None:
    """One audit row for a command, in the organisation of the consultation it
    concerns (else the CLI's `KONSULTA_ORGANISATION`), committed at once."""
    async with app.uow() as uow:
        found = None
        if consultation_id is not None:
            found = await uow.consultations.get(consultation_id)
        elif consultation is not None:
            found = await uow.consultations.get_by_slug(consultation)
        if found is not None:
            organisation_id: int | None = found.organisation_id
        else:
            organisation = await uow.organisations.get_by_slug(app.settings.organisation)
            organisation_id = organisation.id if organisation else None
        await audit(uow, action_name, target, organisation_id, **detail)
        await uow.commit()


async def audit(
    uow: UnitOfWork,
    action_name: str,
    target: str | None,
    organisation_id: int | None,
    **detail: Any,
) -> None:
    """The audit row of a command that changes something, in the caller's unit of work
    (so the change and its record commit together)."""
    await uow.audit.add(
        action_name,
        email=CLI_ACTOR,
        staff_user_id=None,
        organisation_id=organisation_id,
        target=target,
        detail={**detail, "os_user": os_user()},
    )
