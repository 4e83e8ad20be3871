"""The mosquitto_hash filter (ansible/filter_plugins) against a real Mosquitto."""

import asyncio
import importlib.util
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import aiomqtt
import pytest

from tests.deploy.playbooks import ANSIBLE_DIR
from tests.support.services import binary, free_port, wait_port


def load_filter() -> Callable[[str, str], str]:
    """The filter's module, loaded from its file: Ansible plugins are not a package."""
    spec = importlib.util.spec_from_file_location(
        "balise_mosquitto_filter", ANSIBLE_DIR / "filter_plugins/mosquitto.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    hash_line: Callable[[str, str], str] = module.mosquitto_hash
    return hash_line


mosquitto_hash = load_filter()


@pytest.fixture
def broker_dir() -> Iterator[Path]:
    """A directory Mosquitto can read after it drops root for its own user."""
    with tempfile.TemporaryDirectory(prefix="balise-mosquitto-") as name:
        Path(name).chmod(0o755)
        yield Path(name)


def test_mosquitto_accepts_the_hashed_password_and_only_it(broker_dir: Path):
    port = free_port()
    (broker_dir / "passwd").write_text(f"probe-1:{mosquitto_hash('s3cret-pw', 'probe-1')}\n")
    (broker_dir / "passwd").chmod(0o644)
    (broker_dir / "mosquitto.conf").write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {broker_dir / 'passwd'}\nlog_dest stderr\n"
    )
    broker = subprocess.Popen(
        [binary("mosquitto"), "-c", str(broker_dir / "mosquitto.conf")], stderr=subprocess.DEVNULL
    )
    try:
        wait_port(port)

        async def connects(password: str) -> bool:
            try:
                async with aiomqtt.Client("127.0.0.1", port, username="probe-1", password=password):
                    return True
            except aiomqtt.MqttError:
                return False

        assert asyncio.run(connects("s3cret-pw"))
        assert not asyncio.run(connects("s3cret-pX"))
    finally:
        broker.terminate()
        broker.wait(10)


def test_the_hash_is_stable_per_user_and_password():
    line = mosquitto_hash("pw", "a")
    assert line == mosquitto_hash("pw", "a")  # a second run rewrites nothing
    assert line != mosquitto_hash("pw", "b")  # no two users share a salt
    assert line != mosquitto_hash("pw2", "a")
    assert line.startswith("$7$101$")
