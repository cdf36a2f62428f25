"""Open311 GeoReport v2, intake's second front door: routes, the POST form, the search, the XML/JSON formats
and how they are documented."""

from services.intake.api.open311.routes import build_router

__all__ = ["build_router"]
