"""The short durability bench, as CI runs it: every fault, then nothing lost, nothing twice."""

import json
import subprocess
import sys


def test_nothing_is_lost_or_stored_twice_through_every_fault(tmp_path):
    out = tmp_path / "durability.json"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "balise.cli", "bench", "durability"),
            *("--probes", "6", "--minutes", "0.75", "--json", str(out)),
        ],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads(out.read_text())
    assert summary["sent"] > 150
    assert (summary["lost"], summary["duplicates_stored"], summary["unexpected"]) == (0, 0, 0)
    assert summary["stored"] == summary["sent"]
    assert summary["results_stored"] == summary["results_sent"]
    assert summary["probes_not_drained"] == 0
    faults = " / ".join(str(f["fault"]) for f in summary["faults"])
    for fault in ("cut", "collector SIGKILL while InfluxDB is down", "broker restart", "new boot"):
        assert fault in faults
    last = done.stdout.strip().splitlines()[-1]
    assert last == f"sent {summary['sent']}, stored {summary['sent']}, lost 0"
