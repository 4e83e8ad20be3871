"""The probe's identity: an Ed25519 key pair made on first start, never leaving the device.

The private key lives in `<state_dir>/identity.key` (mode 0600). What leaves the
device is the enrollment code: probe id and public key, which the operator adds
to the fleet registry (`balise fleet add CODE`).
"""

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from balise import enrollment, signing
from balise.config import ConfigError

KEY_FILE = "identity.key"


@dataclass(frozen=True, slots=True)
class Identity:
    probe_id: str
    key: Ed25519PrivateKey

    @property
    def enrollment_code(self) -> str:
        public = signing.public_key_text(self.key.public_key())
        return enrollment.enrollment_code(self.probe_id, public)

    @property
    def fingerprint(self) -> str:
        return signing.fingerprint(self.key.public_key())

    def sign(self, unsigned: bytes) -> bytes:
        return signing.sign(unsigned, self.key)


def load_or_create(state_dir: Path, probe_id: str) -> Identity:
    path = state_dir / KEY_FILE
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except ValueError as exc:
            raise ConfigError(f"{path}: not a private key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{path}: not an Ed25519 private key")
        return Identity(probe_id, key)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    state_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)
    return Identity(probe_id, key)
