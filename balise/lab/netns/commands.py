"""Running the kernel's tools (ip, nft, tc, sysctl): where their failures become `LabError`."""

import asyncio
import subprocess
from collections.abc import Sequence


class LabError(Exception):
    """Setting up or driving the lab failed; the message names the command and the reason."""


def in_ns(ns: str, *argv: str) -> tuple[str, ...]:
    return ("ip", "netns", "exec", ns, *argv)


async def run(argv: Sequence[str], *, stdin: str | None = None) -> str:
    """Run a tool, return its output; raise `LabError` with its message when it fails."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        raise LabError(f"{argv[0]}: {exc.strerror}") from exc
    out, err = await process.communicate(None if stdin is None else stdin.encode())
    if process.returncode != 0:
        raise LabError(_failure(argv, err, stdin))
    return out.decode()


def run_sync(argv: Sequence[str], *, stdin: str | None = None) -> str:
    """`run` for clean-up paths, which must work without an event loop."""
    try:
        done = subprocess.run(  # noqa: S603 - fixed tool names, arguments built by the lab
            argv, input=None if stdin is None else stdin.encode(), capture_output=True, check=False
        )
    except OSError as exc:
        raise LabError(f"{argv[0]}: {exc.strerror}") from exc
    if done.returncode != 0:
        raise LabError(_failure(argv, done.stderr, stdin))
    return done.stdout.decode()


async def batch(ns: str, commands: Sequence[str]) -> None:
    """Run `ip` commands in one namespace with one `ip -batch`."""
    if commands:
        await run(("ip", "-n", ns, "-batch", "-"), stdin="\n".join(commands) + "\n")


async def sysctl(ns: str, settings: dict[str, str]) -> None:
    await run(in_ns(ns, "sysctl", "-q", "-w", *(f"{k}={v}" for k, v in settings.items())))


async def nft(ns: str, script: str) -> None:
    await run(in_ns(ns, "nft", "-f", "-"), stdin=script)


def _failure(argv: Sequence[str], err: bytes, stdin: str | None) -> str:
    message = err.decode(errors="replace").strip() or "failed"
    shown = " ".join(argv)
    if stdin is not None:
        shown += f" <<< {stdin.strip()[:400]!r}"
    return f"{shown}: {message}"
