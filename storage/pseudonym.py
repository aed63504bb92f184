"""Pseudonymous participant ids: what answers and exports carry instead of Telegram ids.

A keyed HMAC-SHA256 (the key is the deployment's `pseudonym_secret`) of
"<channel>:<channel user id>", shortened to 80 bits in lower-case base32 and prefixed
"p-", so staff can read one aloud ("p-k3...") and nobody without the secret can get from
a Telegram id to the answers. The id is stable: the same person on the same deployment
always gets the same participant id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["participant_id"]

_PREFIX = "p-"
_LENGTH = 16  # base32 characters = 80 bits: no collision in any realistic deployment


def participant_id(secret: str, channel: str, channel_user_id: int | str) -> str:
    """The participant id of one channel user, e.g. `p-mfrggzdfmztwq2lk`."""
    if not secret:
        raise ValueError("the pseudonym secret must not be empty")
    message = f"{channel}:{channel_user_id}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return _PREFIX + base64.b32encode(digest).decode("ascii").lower()[:_LENGTH]
