"""The progress bar shows on a terminal and only there."""

import os
import subprocess
import sys


def export_with_stderr(sqlite_file, tmp_path, stderr_fd):
    out = tmp_path / "m.csv"
    command = [sys.executable, "-m", "balise.cli", "export", "measurements",
               "--sqlite", str(sqlite_file), "-o", str(out)]  # fmt: skip
    subprocess.run(command, stderr=stderr_fd, check=True, timeout=60)
    return out


def test_bar_on_a_terminal(sqlite_file, tmp_path):
    controller, terminal = os.openpty()
    try:
        export_with_stderr(sqlite_file, tmp_path, terminal)
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal side is closed: everything was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    assert b"measurements" in shown
    assert "━".encode() in shown  # rich's bar


def test_no_bar_in_a_pipe(sqlite_file, tmp_path):
    log = tmp_path / "stderr.txt"
    with log.open("wb") as f:
        out = export_with_stderr(sqlite_file, tmp_path, f)
    assert (
        log.read_text().strip()
        == f"balise export: {sum(1 for _ in out.open()) - 1} measurements written to {out}"
    )
