"""`mosquitto_hash`: a Mosquitto 2 password file entry (PBKDF2-SHA512, `$7$`), computed
here so templating the password file is idempotent (mosquitto_passwd salts at random)."""

import base64
import hashlib
from collections.abc import Callable

ITERATIONS = 101  # mosquitto_passwd's own default
SALT_BYTES = 12


def mosquitto_hash(password: str, username: str) -> str:
    # The salt is derived from user and password instead of drawn at random: the same
    # credentials give the same line, so a second run changes nothing, and two users
    # never share a salt. A new password gives a new salt.
    seed = f"balise-mosquitto\0{username}\0{password}".encode()
    salt = hashlib.sha256(seed).digest()[:SALT_BYTES]
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
    encoded = [base64.b64encode(part).decode() for part in (salt, digest)]
    return f"$7${ITERATIONS}${encoded[0]}${encoded[1]}"


class FilterModule:
    def filters(self) -> dict[str, Callable[[str, str], str]]:
        return {"mosquitto_hash": mosquitto_hash}
