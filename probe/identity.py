"""The probe's identity: an Ed25519 key pair made on first start, never leaving the device.

The private key lives in `<state_dir>/identity.key` (mode 0600), PKCS#8 PEM as OpenSSL
writes it. What leaves the device is the enrollment code: probe id and public key,
which the operator adds to the fleet registry (`balise fleet add CODE`).
"""

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path

from balise import enrollment, signing
from balise.config import ConfigError

KEY_FILE = "identity.key"
# An Ed25519 PKCS#8 key is this fixed DER header and the 32-byte seed (RFC 8410,
# section 7). Reading the one form by hand spares the probe `cryptography` (8 MB).
_PKCS8_ED25519 = bytes.fromhex("302e020100300506032b657004220420")
_SEED_BYTES = 32
_PEM_BEGIN = "-----BEGIN PRIVATE KEY-----"
_PEM_END = "-----END PRIVATE KEY-----"


@dataclass(frozen=True, slots=True)
class Identity:
    probe_id: str
    key: signing.PrivateKey

    @property
    def enrollment_code(self) -> str:
        public = signing.public_key_text(self.key.verify_key)
        return enrollment.enrollment_code(self.probe_id, public)

    @property
    def fingerprint(self) -> str:
        return signing.fingerprint(self.key.verify_key)

    def sign(self, unsigned: bytes) -> bytes:
        return signing.sign(unsigned, self.key)


def key_to_pem(key: signing.PrivateKey) -> bytes:
    der = base64.b64encode(_PKCS8_ED25519 + bytes(key)).decode("ascii")
    return f"{_PEM_BEGIN}\n{der}\n{_PEM_END}\n".encode("ascii")


def key_from_pem(pem: bytes) -> signing.PrivateKey:
    """The key of an unencrypted Ed25519 PKCS#8 PEM file; ValueError names what is wrong."""
    text = pem.decode("ascii", errors="replace").strip()
    if not (text.startswith(_PEM_BEGIN) and text.endswith(_PEM_END)):
        raise ValueError("not a PEM private key (BEGIN PRIVATE KEY)")
    try:
        der = base64.b64decode(text[len(_PEM_BEGIN) : -len(_PEM_END)], validate=False)
    except binascii.Error as exc:
        raise ValueError("the PEM body is not base64") from exc
    if len(der) != len(_PKCS8_ED25519) + _SEED_BYTES or not der.startswith(_PKCS8_ED25519):
        raise ValueError("not an Ed25519 private key")
    return signing.PrivateKey(der[len(_PKCS8_ED25519) :])


def load_or_create(state_dir: Path, probe_id: str) -> Identity:
    path = state_dir / KEY_FILE
    if path.exists():
        try:
            key = key_from_pem(path.read_bytes())
        except ValueError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        return Identity(probe_id, key)
    key = signing.PrivateKey.generate()
    state_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_to_pem(key))
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)
    return Identity(probe_id, key)
