"""notify's HTTP API (v1): the resident's inbox and, for staff, the delivery log."""

from __future__ import annotations

from fastapi import APIRouter

from services.notify.api import deliveries, inbox

routers: list[APIRouter] = [inbox.router, deliveries.router]
