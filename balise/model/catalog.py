"""The target catalog: what probes measure. Loaded from TOML, pushed over MQTT."""

from pathlib import Path
from typing import Annotated, Literal

import msgspec

BUILTIN_CATALOG = Path(__file__).with_name("catalog.toml")  # the default catalog file

PLATFORM_IDS: tuple[str, ...] = (
    "tiktok",
    "facebook",
    "instagram",
    "whatsapp",
    "twitter",
    "youtube",
    "telegram",
    "signal",
    "google",
    "wikipedia",
)


class Target(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    id: str
    name: str = ""
    domain: str  # measured through DNS, TCP, TLS and HTTPS
    port: int = 443
    path: str = "/"
    http_domain: str | None = None  # plain-HTTP URL host, where block pages get injected
    http_port: int = 80  # the plain-HTTP URL's port
    throughput_url: str | None = None  # a sized object of the platform
    control_address: str | None = None  # a known-good address of the platform
    kind: Literal["platform", "control"] = "platform"


class Anchor(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    id: str
    role: Literal["gateway", "resolver", "domestic", "international"]
    address: str  # an IP address, or "auto" for the default gateway / system resolver
    port: int | None = None  # TCP port for the fallback (or only) check


class Catalog(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    version: int = 1
    revision: str = ""  # who published this catalog and when, for humans
    targets: tuple[Target, ...]
    anchors: tuple[Anchor, ...] = ()
    doh_url: str | None = None  # the independent resolver (DNS over HTTPS)
    resolver: str | None = None  # or a plain independent resolver address
    throughput_every: int = 5  # rounds between throughput downloads
    # Objects downloaded in a throughput round, the targets' objects taking turns (the
    # default catalog: 1, a metered SIM's budget); None: every object every time.
    throughput_objects: Annotated[int, msgspec.Meta(ge=1)] | None = None
