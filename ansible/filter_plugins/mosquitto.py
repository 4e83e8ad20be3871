"""Mosquitto's password file and ACL from the inventory's fleet, made by the same code as
`balise fleet` (collector.broker_auth), so both ways of running a fleet agree.

`mosquitto_hash(password, user)`: a `$7$` (PBKDF2-SHA512) hash whose salt is derived
from user and password instead of drawn at random, so templating the file is idempotent.
`mosquitto_acl(probe_ids, collector_user)`: the ACL.
"""

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from collector.broker_auth import acl, password_hash

SALT_BYTES = 12


def mosquitto_hash(password: str, username: str) -> str:
    # The same credentials give the same line, so a second run changes nothing; two users
    # never share a salt, and a new password gets a new one.
    seed = f"balise-mosquitto\0{username}\0{password}".encode()
    return password_hash(password, salt=hashlib.sha256(seed).digest()[:SALT_BYTES])


def mosquitto_acl(probe_ids: Iterable[str], collector_user: str) -> str:
    # The generator's own comment points at `balise fleet`; the template says who wrote it.
    text = acl(collector_user, probe_ids)
    return "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip()


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"mosquitto_hash": mosquitto_hash, "mosquitto_acl": mosquitto_acl}
