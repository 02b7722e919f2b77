"""A CloudEvents sink for the logger's row of the payload cell: answers 200 to every post
(run with our .venv's python; aiohttp)."""

import argparse

from aiohttp import web


async def accept(request: web.Request) -> web.Response:
    await request.read()
    return web.Response()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/{tail:.*}", accept)
    app.router.add_get("/ready", accept)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
