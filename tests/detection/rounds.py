"""Hand-built probe messages for detector tests."""

from dataclasses import dataclass, field

from balise.model.layers import Access, Layer
from balise.model.messages import ClockInfo, ProbeMeta, Round, Status
from balise.model.results import AnchorResult, TargetResult, ThroughputResult

T0 = 1_750_000_000.0
TARGETS = ("tiktok", "facebook", "whatsapp", "youtube")


def anchors(cut: str | None = None) -> tuple[AnchorResult, ...]:
    def anchor(role: str, *, ok: bool) -> AnchorResult:
        return AnchorResult(
            t0=0,
            t=0.1,
            failure=None if ok else "generic_timeout_error",
            anchor=role,
            role=role,  # type: ignore[arg-type]
            method="tcp",
            address="192.0.2.1",
        )

    return (
        anchor("gateway", ok=True),
        anchor("domestic", ok=cut != "full"),
        anchor("international", ok=cut is None),
    )


@dataclass
class Probe:
    id: str
    asn: int = 64500
    country: str = "NC"
    access: Access = Access.MOBILE
    control: bool = False
    skew: float = 0.0
    seq: int = 0
    boot: str = "boot-1"
    kbps: dict[str, float] = field(default_factory=dict)

    def round(
        self,
        at: float,
        *,
        fail: dict[str, Layer] | None = None,
        kbps: dict[str, float] | None = None,
        cut: str | None = None,
        late: bool = False,
    ) -> Round:
        self.seq += 1
        fail = fail or {}
        targets = tuple(
            TargetResult(
                target=t,
                failed_layer=fail.get(t),
                failure="connection_reset" if t in fail else None,
                throughput=None
                if kbps is None or t not in kbps
                else ThroughputResult(t0=0, t=1, url="https://x/", kbps=kbps[t]),
            )
            for t in TARGETS
        )
        return Round(
            probe=self.id,
            seq=self.seq,
            started=T0 + at + self.skew,
            clock=ClockInfo(mono=1000 + at, boot_id=self.boot, synced=self.skew == 0),
            meta=ProbeMeta(
                country=self.country,
                region="",
                asn=self.asn,
                network=f"as{self.asn}",
                access=self.access,
                control=self.control,
            ),
            targets=targets,
            anchors=anchors(cut),
            late=late,
        )

    def will(self) -> Status:
        return Status(probe=self.id, state="offline")
