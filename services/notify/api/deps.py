"""The one way a route reaches notify's parts: the container the lifespan built (bootstrap.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.notify.bootstrap import Container
from services.notify.domain.access import Viewer
from shared.security import Staff


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def current_viewer(staff: Staff) -> Viewer:
    """The signed-in staff member, as far as reading delivery logs goes."""
    return Viewer(team=staff.team, sees_everything=staff.sees_everything)


ViewerDep = Annotated[Viewer, Depends(current_viewer)]
