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


async def current_viewer(staff: Staff, container: ContainerDep) -> Viewer:
    """The signed-in staff member as the account stands now (routing's staff.changed events): a disabled
    account or a token issued before a password, role or team change is refused, a demotion holds."""
    now = await container.staff_access.current(staff)
    return Viewer(team=now.team, sees_everything=now.sees_everything)


ViewerDep = Annotated[Viewer, Depends(current_viewer)]
