"""Enrollment codes: how a probe's public identity travels to the fleet registry.

`balise-enroll:1:<probe id>:<Ed25519 public key, base64url>` — short enough for a
QR code on the field partner's phone, and nothing secret in it.
"""

from balise import signing
from balise.wire import PROBE_ID

PREFIX = "balise-enroll:1"


def enrollment_code(probe_id: str, public_key_text: str) -> str:
    return f"{PREFIX}:{probe_id}:{public_key_text}"


def parse(code: str) -> tuple[str, str]:
    """An enrollment code → (probe id, public key text); ValueError names what is wrong."""
    head, _, key = code.strip().rpartition(":")
    prefix, _, probe_id = head.rpartition(":")
    if prefix != PREFIX:
        raise ValueError(f"not an enrollment code (expected {PREFIX}:<id>:<key>): {code!r}")
    if not PROBE_ID.match(probe_id):
        raise ValueError(f"invalid probe id in enrollment code: {probe_id!r}")
    signing.public_key_from_text(key)
    return probe_id, key
