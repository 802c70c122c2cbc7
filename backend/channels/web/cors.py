"""Cross-origin answers for the widget's API, which runs on other sites' pages.

`*`, no credentials: the token travels in a header, never in a cookie, so another site gains nothing by it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from backend.channels.web.wire import SESSION_HEADER

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": f"Content-Type, {SESSION_HEADER}",
    "Access-Control-Max-Age": "600",
}


class WidgetRoute(APIRoute):
    """Every answer of the widget's API, errors included, carries the CORS headers and `{"error": ...}`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_cors(request: Request) -> Response:
            try:
                response = await handler(request)
            except HTTPException as exc:
                response = JSONResponse(
                    {"error": exc.detail}, status_code=exc.status_code, headers=exc.headers
                )
            except RequestValidationError:
                response = JSONResponse({"error": "The request was not understood."}, status_code=422)
            response.headers.update(CORS_HEADERS)
            return response

        return with_cors


router = APIRouter(route_class=WidgetRoute)


@router.options("/widget/{rest:path}", include_in_schema=False)
async def widget_preflight(rest: str) -> Response:
    """CORS preflight for the widget's API (the session header makes browsers ask first)."""
    return Response(status_code=status.HTTP_204_NO_CONTENT)
