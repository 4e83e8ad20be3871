"""An in-process MQTT 3.1.1 broker (amqtt) for the demo: no Mosquitto needed."""

import logging
from types import TracebackType
from typing import Any, Self

from amqtt.broker import Broker


class BrokerError(RuntimeError):
    """The embedded broker could not start."""


class EmbeddedBroker:
    def __init__(self, host: str, port: int) -> None:
        self.url = f"mqtt://{host}:{port}"
        config: dict[str, Any] = {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        self._config = config
        self._broker: Broker | None = None

    async def __aenter__(self) -> Self:
        # amqtt logs every connection at INFO; the demo's own lines matter more.
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        logging.getLogger("transitions").setLevel(logging.WARNING)
        broker = Broker(self._config)
        try:
            await broker.start()
        except Exception as exc:  # amqtt raises its own BrokerError or OSError
            raise BrokerError(f"the embedded broker cannot listen on {self.url}: {exc}") from exc
        self._broker = broker
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
