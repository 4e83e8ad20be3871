"""Headless Chromium (Debian's `chromium`) driven over the Chrome DevTools Protocol, with
aiohttp's websocket client: enough to load a page, read it, click and take a screenshot.

Every host name but 127.0.0.1 resolves to nothing, and every request the page makes is
recorded, so a test can show the page needs nothing beyond the collector.
"""

import asyncio
import base64
import contextlib
import itertools
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-port=0",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,1600",
    "--lang=en-US",
)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Chromium:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.requests: list[str] = []  # every URL the page asked for
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._stack = contextlib.AsyncExitStack()
        self._session_id = ""

    async def __aenter__(self) -> Self:
        async with contextlib.AsyncExitStack() as stack:
            # Chromium's helper processes may still write the profile as the browser exits.
            profile = Path(
                stack.enter_context(
                    tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True)
                )
            )
            process = await asyncio.create_subprocess_exec(
                self.binary, *FLAGS, f"--user-data-dir={profile}", "about:blank",
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            stack.push_async_callback(_stop, process)
            port_file = profile / "DevToolsActivePort"
            async with asyncio.timeout(30):
                while not port_file.exists() or len(port_file.read_text().split()) < 2:
                    await asyncio.sleep(0.05)
            port, path = port_file.read_text().split()[:2]
            http = await stack.enter_async_context(aiohttp.ClientSession())
            self._ws = await stack.enter_async_context(
                http.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0)
            )
            reader = asyncio.create_task(self._read(), name="chromium.cdp-reader")
            stack.push_async_callback(_cancel, reader)
            target = await self.send("Target.createTarget", {"url": "about:blank"}, session=False)
            attached = await self.send(
                "Target.attachToTarget",
                {"targetId": target["targetId"], "flatten": True},
                session=False,
            )
            self._session_id = attached["sessionId"]
            await self.send("Network.enable")
            await self.send("Page.enable")
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    async def send(
        self, method: str, params: dict[str, Any] | None = None, *, session: bool = True
    ) -> dict[str, Any]:
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session_id
        future = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        await self._ws.send_json(message)
        async with asyncio.timeout(30):
            return await future

    async def _read(self) -> None:
        async for message in self._ws:
            data = message.json()
            if "id" in data:
                future = self._pending.pop(data["id"])
                if "error" in data:
                    future.set_exception(RuntimeError(f"CDP error: {data['error']}"))
                else:
                    future.set_result(data.get("result", {}))
            elif data.get("method") == "Network.requestWillBeSent":
                self.requests.append(data["params"]["request"]["url"])

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", {"url": url})

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page error: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 15.0) -> Any:
        async with asyncio.timeout(timeout):
            while not (value := await self.evaluate(expression)):
                await asyncio.sleep(0.1)
        return value

    async def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element."""
        box = await self.evaluate(
            f"(() => {{ const r = document.querySelector({selector!r}).getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            await self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1},
            )

    async def press_enter_on(self, selector: str) -> None:
        """Focus the element and press Enter, as a keyboard user would."""
        await self.evaluate(f"document.querySelector({selector!r}).focus()")
        for kind in ("keyDown", "keyUp"):
            await self.send(
                "Input.dispatchKeyEvent",
                {"type": kind, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13,
                 "text": "\r" if kind == "keyDown" else ""},
            )  # fmt: skip

    async def screenshot(self) -> bytes:
        shot = await self.send(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        return base64.b64decode(shot["data"])


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
