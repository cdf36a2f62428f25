"""intake's HTTP API: the native API (v1), the channels' admin API and Open311 GeoReport v2. Routes read the
container through deps.get_container; errors.py maps refusals to each front door's answers."""

from __future__ import annotations

from fastapi import APIRouter

from services.intake.api import channels, open311, photos, requests, servicedays
from services.intake.domain.catalogue import Catalogue


def routers(catalogue: Catalogue) -> list[APIRouter]:
    """Every API router. Open311's is built for the catalogue intake runs with: its OpenAPI document lists
    the catalogue's service codes for the POST form."""
    return [
        requests.router,
        channels.router,
        open311.build_router(catalogue),
        photos.router,  # photos and additions (docs/intake.md, Photos)
        # service days (便民服务日)
        servicedays.router,
    ]
