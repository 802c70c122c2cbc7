"""python-telegram-bot's requests to the Bot API on kept-alive HTTP/1.1 connections (backend.hub.http1).

Every answer the bot gives on Telegram is one small form-encoded POST (`sendMessage`,
`sendChatAction`, `answerCallbackQuery`). Through python-telegram-bot's default HTTPXRequest each costs
about 2.5 ms of CPU in httpx, more than the rest of the hub's work on a turn. This request sends those
POSTs on the hub's own small client instead, and hands everything else (uploads as multipart, file
downloads, another server) to an HTTPXRequest, so nothing the library can do is lost.

Failures become the library's own errors, as HTTPXRequest raises them: no answer in time is TimedOut,
no connection or a broken answer is NetworkError; a 4xx or 5xx answer is returned with its status and
the library turns it into BadRequest, Forbidden, RetryAfter and the rest. The URL holds the bot's token,
so no message here includes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from backend.hub.http1 import Http1Pool, HttpError, HttpTimeout

if TYPE_CHECKING:  # the library's own type of a timeout argument (a default, seconds or None)
    from telegram._utils.types import ODVInput

# As python-telegram-bot's HTTPXRequest: seconds to connect, to write and to read, when a call sets none.
DEFAULT_TIMEOUT_S = 5.0
FORM = "application/x-www-form-urlencoded"


def _seconds(value: object) -> float | None:
    """A timeout argument as seconds: the default for one not given, None for no limit."""
    if value is BaseRequest.DEFAULT_NONE:
        return DEFAULT_TIMEOUT_S
    return None if value is None else float(value)  # type: ignore[arg-type]


class KeptAliveRequest(BaseRequest):
    """Form-encoded POSTs to the Bot API's server on kept-alive connections; the rest through httpx."""

    def __init__(self, base_url: str, fallback: HTTPXRequest | None = None) -> None:
        parts = urlsplit(base_url)
        # The pool is for the server; the path (`/bot<token>/sendMessage`) goes with each request. The
        # library builds every URL from base_url, so its origin is a plain prefix of theirs.
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._pool = Http1Pool(self._origin)
        self._fallback = fallback or HTTPXRequest()

    @property
    def read_timeout(self) -> float | None:
        return DEFAULT_TIMEOUT_S

    async def initialize(self) -> None:
        await self._fallback.initialize()

    async def shutdown(self) -> None:
        await self._pool.aclose()
        await self._fallback.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        uploads = request_data is not None and request_data.contains_files
        if method != "POST" or uploads or not url.startswith(self._origin + "/"):
            return await self._fallback.do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
            )
        path = url[len(self._origin) :]
        body = request_data.url_encoded_parameters().encode() if request_data is not None else b""
        limits = [_seconds(connect_timeout), _seconds(write_timeout), _seconds(read_timeout)]
        # One limit for the whole exchange: the sum of its parts, or none when a part has none.
        timeout_s = None if None in limits else sum(limit for limit in limits if limit is not None)
        try:
            return await self._pool.post(
                path, body, FORM, {"User-Agent": self.USER_AGENT}, timeout_s=timeout_s
            )
        except HttpTimeout as error:
            raise TimedOut from error
        except HttpError as error:
            raise NetworkError(f"Bot API request failed: {error}") from error
