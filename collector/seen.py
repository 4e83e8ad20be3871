"""Which round sequence numbers of one probe have arrived, in bounded memory.

Seqs are kept as a short sorted list of disjoint closed ranges: a probe that
publishes in order needs one range whatever its uptime, gaps and replays add a few.
Past `max_ranges` the oldest range is forgotten; a replay of it is then accepted
again, and the stores absorb it (a re-delivered round rewrites the same points).
Forgetting errs on the side of a duplicate, never of a lost round.
"""

import bisect


class SeenSeqs:
    __slots__ = ("_his", "_los", "_max_ranges")

    def __init__(self, *, max_ranges: int = 64) -> None:
        self._los: list[int] = []  # range starts, ascending
        self._his: list[int] = []  # range ends, same index
        self._max_ranges = max_ranges

    def __contains__(self, seq: int) -> bool:
        his = self._his
        if not his or seq > his[-1]:  # the usual case: a new round
            return False
        i = bisect.bisect_right(self._los, seq)
        return i > 0 and his[i - 1] >= seq

    def add(self, seq: int) -> None:
        los, his = self._los, self._his
        if his and his[-1] + 1 == seq:  # the usual case: the next round in order
            his[-1] = seq
            return
        i = bisect.bisect_right(los, seq)  # los[i-1] <= seq < los[i]
        if i and his[i - 1] >= seq:
            return
        joins_left = i > 0 and his[i - 1] + 1 == seq
        joins_right = i < len(los) and los[i] - 1 == seq
        if joins_left and joins_right:
            his[i - 1] = his[i]
            del los[i], his[i]
        elif joins_left:
            his[i - 1] = seq
        elif joins_right:
            los[i] = seq
        else:
            los.insert(i, seq)
            his.insert(i, seq)
            if len(los) > self._max_ranges:
                del los[0], his[0]

    def newest(self) -> int | None:
        return self._his[-1] if self._his else None

    def ranges(self) -> list[tuple[int, int]]:
        return list(zip(self._los, self._his, strict=True))
