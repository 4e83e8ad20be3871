"""The built-in status page: one self-contained HTML file, no external assets."""

from pathlib import Path

from aiohttp import web

PAGE = Path(__file__).with_name("static") / "status.html"


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", page)


async def page(_: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE, headers={"Cache-Control": "no-cache"})
