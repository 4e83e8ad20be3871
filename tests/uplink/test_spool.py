import subprocess
import sys
import textwrap

import msgspec
import pytest

from balise.model.results import DnsResult, TargetResult
from probe.spool import Spool
from tests.foundation.test_wire import make_round


def test_rounds_stay_until_acknowledged(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite")
    for seq in (1, 2, 3):
        spool.append(make_round(seq=seq))
    assert [r.seq for r in spool.pending()] == [1, 2, 3]
    assert spool.ack(2) == 2
    assert [r.seq for r in spool.pending()] == [3]
    assert spool.acked() == 2
    spool.close()


def test_sequence_survives_reopening_and_is_never_reused(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite")
    spool.append(make_round(seq=1))
    spool.ack(1)
    spool.close()
    reopened = Spool(tmp_path / "spool.sqlite")
    assert reopened.next_seq() == 2
    with pytest.raises(ValueError, match="expects seq 2"):
        reopened.append(make_round(seq=1))


def test_a_killed_writer_loses_no_committed_round(tmp_path):
    """SIGKILL right after append returns: the round is on disk."""
    script = textwrap.dedent(f"""
        import os, signal, sys
        from probe.spool import Spool
        from tests.foundation.test_wire import make_round
        spool = Spool(__import__("pathlib").Path({str(tmp_path / "spool.sqlite")!r}))
        for seq in range(1, 51):
            spool.append(make_round(seq=seq))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run([sys.executable, "-c", script], check=False, cwd=".")
    assert done.returncode == -9
    spool = Spool(tmp_path / "spool.sqlite")
    assert [r.seq for r in spool.pending(limit=100)] == list(range(1, 51))


def test_bound_strips_detail_before_dropping_rounds(tmp_path):
    detail = tuple(
        DnsResult(t0=0, t=0.1, domain=f"d{i}.example", qtype="A", resolver="system",
                  answers=("203.0.113.1",) * 20)
        for i in range(20)
    )  # fmt: skip
    spool = Spool(tmp_path / "spool.sqlite", max_bytes=60_000)
    for seq in range(1, 21):
        heavy = make_round(seq=seq)
        targets = (TargetResult(target="tiktok", failed_layer="dns", failure="dns_nxdomain_error",
                                dns=detail),)  # fmt: skip
        spool.append(msgspec.structs.replace(heavy, targets=targets))
    pending = spool.pending(limit=100)
    assert spool.size_bytes() <= 60_000
    assert pending[-1].seq == 20
    assert b'"dns":[' in pending[-1].payload  # the newest keeps its detail
    oldest = pending[0].payload
    assert b'"dns":[' not in oldest  # the oldest kept is a summary...
    assert b"dns_nxdomain_error" in oldest  # ...that still says what failed
