"""Signed round messages: Ed25519 over the exact JSON bytes of the round.

The probe encodes its round with `"sig":null` as the last member, signs those
bytes, and replaces `null` with the signature (base64url, no padding). The
collector undoes that one substitution and verifies the very bytes that were
signed, so no canonical re-encoding is ever needed. A signature covers every
field, `late` and `floor` included: a replay is signed anew by the probe.
Compression on the wire (balise/wire.py) wraps the signed JSON: what is signed
and verified is always the JSON, never the compressed bytes, so the collector
can archive the JSON and anyone can verify it later.

Ed25519 is libsodium's, through PyNaCl: a tenth of the memory `cryptography`
costs a Pi Zero (docs/performance.md). PyNaCl's exceptions stop here.
"""

import base64
import hashlib
from typing import TypeAlias

from nacl.exceptions import CryptoError
from nacl.signing import SigningKey, VerifyKey

from balise import wire

PrivateKey: TypeAlias = SigningKey
PublicKey: TypeAlias = VerifyKey

UNSIGNED_TAIL = b',"sig":null}'
_SIG_MARK = b',"sig":"'


class SignatureError(ValueError):
    """A message is unsigned, its signature is malformed, or it does not verify."""


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64(text: bytes) -> bytes:
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def sign(unsigned: bytes, key: PrivateKey) -> bytes:
    """`unsigned` ends with `"sig":null}`; return it signed."""
    if not unsigned.endswith(UNSIGNED_TAIL):
        raise ValueError('an unsigned round must end with the member "sig":null')
    signature = _b64(key.sign(unsigned).signature)
    return unsigned[: -len(b"null}")] + b'"' + signature + b'"}'


def signed_part(payload: bytes) -> tuple[bytes, bytes]:
    """(the bytes the probe signed, the signature) of a signed JSON payload."""
    cut = payload.rfind(_SIG_MARK)
    if cut < 0 or not payload.endswith(b'"}'):
        raise SignatureError("the message carries no signature")
    signature = payload[cut + len(_SIG_MARK) : -2]
    try:
        raw = _unb64(signature)
    except ValueError as exc:
        raise SignatureError("the signature is not base64url") from exc
    return payload[:cut] + UNSIGNED_TAIL, raw


def verify(payload: bytes, key: PublicKey) -> None:
    """`payload`: a signed round in either wire form (JSON or compressed)."""
    try:
        payload = wire.decompress(payload)
    except wire.WireError as exc:
        raise SignatureError(f"the message does not decompress: {exc.detail}") from exc
    unsigned, signature = signed_part(payload)
    try:
        key.verify(unsigned, signature)
    except CryptoError as exc:  # a bad signature, or one of the wrong length
        raise SignatureError("the signature does not match the message") from exc


def public_key_text(key: PublicKey) -> str:
    return _b64(bytes(key)).decode("ascii")


def public_key_from_text(text: str) -> PublicKey:
    try:
        return VerifyKey(_unb64(text.encode("ascii")))
    except ValueError as exc:  # bad base64, non-ASCII text, or not 32 bytes (PyNaCl's too)
        raise SignatureError(f"not an Ed25519 public key: {text!r}") from exc


def fingerprint(key: PublicKey) -> str:
    """Short, readable over the phone: 8 groups of 4 hex digits of SHA-256."""
    digest = hashlib.sha256(bytes(key)).hexdigest()[:32]
    return "-".join(digest[i : i + 4] for i in range(0, 32, 4))
