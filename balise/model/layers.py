"""The layers of one target's measurement chain, in the order they run."""

from enum import StrEnum


class Layer(StrEnum):
    DNS = "dns"
    TCP = "tcp"
    TLS = "tls"
    HTTP = "http"


CHAIN: tuple[Layer, ...] = (Layer.DNS, Layer.TCP, Layer.TLS, Layer.HTTP)


class Access(StrEnum):
    FIXED = "fixed"
    MOBILE = "mobile"
