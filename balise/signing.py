"""Signed round messages: Ed25519 over the exact bytes the probe published.

The probe encodes its round with `"sig":null` as the last member, signs those
bytes, and replaces `null` with the signature (base64url, no padding). The
collector undoes that one substitution and verifies the very bytes that were
signed, so no canonical re-encoding is ever needed. A signature covers every
field, `late` and `floor` included: a replay is signed anew by the probe.
"""

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

UNSIGNED_TAIL = b',"sig":null}'
_SIG_MARK = b',"sig":"'


class SignatureError(ValueError):
    """A message is unsigned, its signature is malformed, or it does not verify."""


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64(text: bytes) -> bytes:
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def sign(unsigned: bytes, key: Ed25519PrivateKey) -> bytes:
    """`unsigned` ends with `"sig":null}`; return it signed."""
    if not unsigned.endswith(UNSIGNED_TAIL):
        raise ValueError('an unsigned round must end with the member "sig":null')
    signature = _b64(key.sign(unsigned))
    return unsigned[: -len(b"null}")] + b'"' + signature + b'"}'


def signed_part(payload: bytes) -> tuple[bytes, bytes]:
    """(the bytes the probe signed, the signature) of a signed payload."""
    cut = payload.rfind(_SIG_MARK)
    if cut < 0 or not payload.endswith(b'"}'):
        raise SignatureError("the message carries no signature")
    signature = payload[cut + len(_SIG_MARK) : -2]
    try:
        raw = _unb64(signature)
    except ValueError as exc:
        raise SignatureError("the signature is not base64url") from exc
    return payload[:cut] + UNSIGNED_TAIL, raw


def verify(payload: bytes, key: Ed25519PublicKey) -> None:
    unsigned, signature = signed_part(payload)
    try:
        key.verify(signature, unsigned)
    except InvalidSignature as exc:
        raise SignatureError("the signature does not match the message") from exc


def public_key_text(key: Ed25519PublicKey) -> str:
    return _b64(key.public_bytes_raw()).decode("ascii")


def public_key_from_text(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(_unb64(text.encode("ascii")))
    except ValueError as exc:
        raise SignatureError(f"not an Ed25519 public key: {text!r}") from exc


def fingerprint(key: Ed25519PublicKey) -> str:
    """Short, readable over the phone: 8 groups of 4 hex digits of SHA-256."""
    digest = hashlib.sha256(key.public_bytes_raw()).hexdigest()[:32]
    return "-".join(digest[i : i + 4] for i in range(0, 32, 4))
