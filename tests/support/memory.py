"""This process's resident memory, as the kernel counts it."""

from pathlib import Path


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmRSS")).split()[1]) / 1024
