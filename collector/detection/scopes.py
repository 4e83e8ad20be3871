"""Scopes: the sets of probes an event can name, and the narrowest ones that explain a set.

A probe belongs to one scope key per level, widest first: its country; country and
access; country and region; country and ASN; country, region and access; country,
ASN and access; itself. Keys are interned to small ints.
"""

import heapq
from collections.abc import Callable, Iterable

from balise.model.events import Scope
from balise.model.layers import Access

Key = tuple[str | None, str | None, int | None, str | None, str | None]
GLOBAL: Key = (None, None, None, None, None)

LEVELS = 7  # per probe, in the order of `probe_keys` after GLOBAL


def probe_keys(country: str, region: str, asn: int, access: str, probe: str) -> list[Key]:
    """Every key a probe is under; GLOBAL first, which `cover` never proposes."""
    return [
        GLOBAL,
        (country, None, None, None, None),
        (country, None, None, access, None),
        (country, region, None, None, None),
        (country, None, asn, None, None),
        (country, region, None, access, None),
        (country, None, asn, access, None),
        (None, None, None, None, probe),
    ]


def to_scope(key: Key) -> Scope:
    country, region, asn, access, probe = key
    return Scope(
        country=country,
        region=region,
        asn=asn,
        access=None if access is None else Access(access),
        probe=probe,
    )


class ScopeIndex:
    """Interned keys, the probes registered under each, and each key's level."""

    def __init__(self, keys: list[Key]) -> None:
        self.keys = keys  # shared with DetectorState.scope_keys: the durable part
        self.ids: dict[Key, int] = {k: i for i, k in enumerate(keys)}
        self.members: list[list[int]] = [[] for _ in keys]
        self.level: list[int] = [_level(k) for k in keys]

    def intern(self, key: Key) -> int:
        found = self.ids.get(key)
        if found is not None:
            return found
        self.ids[key] = len(self.keys)
        self.keys.append(key)
        self.members.append([])
        self.level.append(_level(key))
        return len(self.keys) - 1

    def add(self, probe: int, keys: Iterable[int]) -> None:
        for k in keys:
            self.members[k].append(probe)

    def remove(self, probe: int, keys: Iterable[int]) -> None:
        for k in keys:
            self.members[k].remove(probe)


def _level(key: Key) -> int:
    if key == GLOBAL:
        return -1
    if key[4] is not None:
        return LEVELS - 1
    return sum(v is not None for v in key[1:4])


def cover(
    affected: Iterable[int],
    keys_of: Callable[[int], list[int]],
    population: Callable[[int], int],
    level: list[int],
    cost: float,
) -> list[tuple[int, list[int]]]:
    """Split `affected` into scopes, greedily: each time the key scoring best.

    A key scores its affected probes minus `cost` times its unaffected ones, so a
    scope is chosen wide only when it is mostly affected; among equal scores the
    key with more affected probes, then the wider level, wins. Scores only fall as
    probes are taken, so a heap with lazy re-scoring finds each best key.
    """
    hits: dict[int, set[int]] = {}
    for p in affected:
        for k in keys_of(p)[1:]:
            found = hits.get(k)
            if found is None:
                hits[k] = {p}
            else:
                found.add(p)
    pops = {k: population(k) for k in hits}

    def rank(k: int) -> tuple[float, int, int, int]:
        a = len(hits[k])
        return (-(a - cost * max(0, pops[k] - a)), -a, level[k], k)

    heap = [rank(k) for k in hits]
    heapq.heapify(heap)
    groups: list[tuple[int, list[int]]] = []
    while heap:
        top = heapq.heappop(heap)
        k = top[3]
        if not hits[k]:
            continue
        current = rank(k)
        if current != top:
            heapq.heappush(heap, current)
            continue
        members = sorted(hits[k])
        groups.append((k, members))
        for p in members:
            for other in keys_of(p)[1:]:
                hits[other].discard(p)
    return groups
