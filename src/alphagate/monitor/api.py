"""The FastAPI service: ``/health``, ``/metrics``, the JSON API, the dashboard and the controls.

Every read route answers from a :class:`~alphagate.monitor.books.Books`;
the server never touches the engine. The control routes (kill switch trip
and reset, flatten, resume) need the bearer token (401 otherwise) and a
``by`` and ``reason``; every call, refused ones included, is handed to
:meth:`Controls.journal` with its actor before the answer goes out (SE-07).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from alphagate.monitor.access import TOKEN_ENV, authorised
from alphagate.monitor.books import Books
from alphagate.monitor.dashboard import dashboard_html

ACTIONS = ("kill-switch/trip", "kill-switch/reset", "flatten", "resume")


class ControlRefusedError(Exception):
    """A control the engine cannot carry out now; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


class Controls(Protocol):
    """What the control routes drive, and where each call is journaled."""

    def act(self, action: str, reason: str, actor: str) -> dict[str, Any]:
        """Carry out ``action``; raise :class:`ControlRefusedError` when it cannot be."""
        ...

    def journal(self, action: str, actor: str, outcome: str, detail: dict[str, Any]) -> None:
        """Record one call of a control route, durably, before it is answered."""
        ...


class ControlRequest(BaseModel):
    """The body of a control call: who and why (both recorded)."""

    by: str = Field(min_length=1, max_length=128)
    reason: str = Field(min_length=1, max_length=500)


def create_app(
    books: Books,
    metrics: Callable[[], bytes],
    controls: Controls,
    *,
    token: str | None,
    refresh_seconds: float = 3.0,
) -> FastAPI:
    """The service's app; ``metrics`` returns the Prometheus exposition."""
    app = FastAPI(title="alphagate", docs_url=None, redoc_url=None, openapi_url=None)
    page = dashboard_html(refresh_seconds)

    @app.get("/health")
    def health() -> JSONResponse:
        found = books.health()
        return JSONResponse(found.to_json(), status_code=found.http_status)

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", response_class=HTMLResponse)
    def dashboard() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/api/status")
    def status() -> dict[str, Any]:
        return {**books.status(), "health": books.health().status}

    @app.get("/api/equity")
    def equity() -> list[dict[str, Any]]:
        return books.equity()

    @app.get("/api/positions")
    def positions() -> list[dict[str, Any]]:
        return books.positions()

    @app.get("/api/orders")
    def orders(open: bool = False) -> list[dict[str, Any]]:
        return books.orders(open_only=open)

    @app.get("/api/trades")
    def trades() -> list[dict[str, Any]]:
        return books.trades()

    @app.get("/api/decisions")
    def decisions() -> list[dict[str, Any]]:
        return books.decisions()

    @app.get("/api/execution")
    def execution() -> dict[str, Any]:
        return books.execution()

    @app.get("/api/candidates")
    def candidates() -> list[dict[str, Any]]:
        return books.candidates()

    @app.post("/api/control/{action:path}")
    def control(action: str, body: ControlRequest, request: Request) -> JSONResponse:
        remote = request.client.host if request.client is not None else "unknown"
        detail: dict[str, Any] = {"reason": body.reason, "remote": remote}
        if action not in ACTIONS:
            return JSONResponse({"error": f"unknown control {action!r}; one of {ACTIONS}"}, 404)
        if not authorised(request.headers.get("authorization"), token):
            controls.journal(action, body.by, "unauthorised", detail)
            why = (
                "send Authorization: Bearer <token>"
                if token
                else f"control endpoints are off: start the service with {TOKEN_ENV} set"
            )
            return JSONResponse(
                {"error": f"unauthorised: {why}"},
                401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            done = controls.act(action, body.reason, body.by)
        except ControlRefusedError as refused:
            controls.journal(action, body.by, "refused", {**detail, "error": str(refused)})
            return JSONResponse({"error": str(refused)}, refused.status)
        controls.journal(action, body.by, "done", detail)
        return JSONResponse({"action": action, "by": body.by, **done})

    return app
