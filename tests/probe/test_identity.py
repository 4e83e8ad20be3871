"""The probe's key file: PKCS#8 PEM, read and written as OpenSSL does, without `cryptography`."""

import subprocess

import pytest

from balise import signing
from balise.config import ConfigError
from balise.model.messages import ClockInfo, ProbeMeta, Round
from balise.wire import encode
from probe.identity import KEY_FILE, load_or_create


def _openssl(*args: str) -> bytes:
    return subprocess.run(["openssl", *args], capture_output=True, check=True).stdout


def _public_raw(key_file) -> bytes:
    """The raw 32-byte public key, as OpenSSL derives it from the private key file."""
    der = _openssl("pkey", "-in", str(key_file), "-pubout", "-outform", "DER")
    return der[-32:]


def _round() -> Round:
    return Round(
        probe="p-1",
        seq=1,
        started=1.0,
        clock=ClockInfo(mono=1.0, boot_id="b", synced=True),
        meta=ProbeMeta(country="NC"),
    )


def test_a_key_made_by_openssl_signs_rounds_the_collector_verifies(tmp_path):
    _openssl("genpkey", "-algorithm", "ed25519", "-out", str(tmp_path / KEY_FILE))
    me = load_or_create(tmp_path, "p-1")
    public = _public_raw(tmp_path / KEY_FILE)
    assert bytes(me.key.verify_key) == public
    signed = me.sign(encode(_round()))
    signing.verify(signed, signing.public_key_from_text(signing.public_key_text(me.key.verify_key)))
    with pytest.raises(signing.SignatureError):
        signing.verify(signed.replace(b'"seq":1', b'"seq":2'), me.key.verify_key)


def test_a_new_key_is_one_openssl_reads_and_is_kept(tmp_path):
    made = load_or_create(tmp_path, "p-1")
    assert _public_raw(tmp_path / KEY_FILE) == bytes(made.key.verify_key)
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o077 == 0
    again = load_or_create(tmp_path, "p-1")
    assert again.fingerprint == made.fingerprint
    assert again.enrollment_code == made.enrollment_code


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"hello", "not a PEM private key"),
        (b"-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n", "not an Ed25519"),
        (None, "not an Ed25519"),  # an RSA key
    ],
)
def test_another_kind_of_file_is_refused_naming_it(tmp_path, content, problem):
    path = tmp_path / KEY_FILE
    if content is None:
        _openssl(
            "genpkey", "-algorithm", "rsa", "-pkeyopt", "rsa_keygen_bits:1024", "-out", str(path)
        )
    else:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=f"{KEY_FILE}: {problem}"):
        load_or_create(tmp_path, "p-1")
