"""The action server: rasa-sdk's own app and arguments, plus a count and timing of every action it runs.

`python -m bot.action_server --actions bot.actions -p 5055` (tools/stack.py) serves exactly what
`python -m rasa_sdk` serves. It adds `GET /stats`, the calls and milliseconds per action since start,
so a test can fail when a turn makes more remote calls than it needs and `make bench` can print calls
per turn and where a turn's time goes; and one DEBUG log line per call with its name and duration.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from typing import Any

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app, create_argument_parser, create_ssl_context
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

STATS_PATH = "/stats"


def instrument(app: Sanic) -> Sanic:
    """Counts and times the action calls of rasa-sdk's app (its `POST /webhook`) and serves the figures."""
    calls: Counter[str] = Counter()
    milliseconds: Counter[str] = Counter()

    @app.middleware("request")
    async def started(request: Request) -> None:
        request.ctx.started = time.perf_counter()

    @app.middleware("response")
    async def finished(request: Request, _response: HTTPResponse) -> None:
        if request.path != "/webhook" or request.method != "POST":
            return
        try:
            body: Any = request.json
        except Exception:  # a compressed or malformed body: counted under no name
            body = None
        name = str(body.get("next_action")) if isinstance(body, dict) else "?"
        elapsed = (time.perf_counter() - request.ctx.started) * 1000
        calls[name] += 1
        milliseconds[name] += elapsed
        logger.debug("action %s ran in %.1f ms", name, elapsed)

    @app.get(STATS_PATH)
    async def stats(_request: Request) -> HTTPResponse:
        return response.json(
            {
                "calls": dict(calls),
                "total_calls": sum(calls.values()),
                "ms": {name: round(value, 2) for name, value in milliseconds.items()},
            }
        )

    return app


def main(argv: list[str] | None = None) -> None:
    args = create_argument_parser().parse_args(argv)
    # As rasa_sdk.__main__ does before it serves.
    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
        args.log_file,
        args.loglevel,
        args.logging_config_file,
    )
    utils.update_sanic_log_level()
    # As rasa_sdk.endpoint.run does, with the instrument between the app and its plugins.
    app = instrument(create_app(args.actions, cors_origins=args.cors, auto_reload=args.auto_reload))
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    ssl_context = create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    host = os.environ.get("SANIC_HOST", "0.0.0.0")
    logger.info(
        "Action endpoint is up and running on %s://%s:%s", "https" if ssl_context else "http", host, args.port
    )
    app.run(host, args.port, ssl=ssl_context, workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    main()
