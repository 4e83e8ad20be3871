"""OONI measurements known to be wrong: a probe bug, not the network.

Each rule is explicit and cites the bug. A measurement a rule matches is kept, with the
verdict `known_bug`, and never counted as blocking (docs/exports.md, "Known probe bugs").
"""

from dataclasses import dataclass

from balise.model.layers import Layer


@dataclass(frozen=True, slots=True)
class KnownBug:
    test_name: str
    layer: Layer
    failure: str
    reference: str
    why: str


KNOWN_BUGS: tuple[KnownBug, ...] = (
    KnownBug(
        test_name="signal",
        layer=Layer.TLS,
        failure="ssl_unknown_authority",
        reference="ooni/probe#2627",
        why=(
            "the signal test verifies Signal's servers against a CA pinned in the probe,"
            " which the servers no longer use; OONI scores these measurements accuracy 0"
        ),
    ),
)


def known_bug(test_name: str, layer: Layer, failure: str | None) -> KnownBug | None:
    return next(
        (
            bug
            for bug in KNOWN_BUGS
            if bug.test_name == test_name and bug.layer == layer and bug.failure == failure
        ),
        None,
    )
