"""Who may read a request's delivery log: supervisors and admins any request, other staff only the
requests currently with their team (the team comes from routing's task events)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Viewer:
    """A staff member reading the delivery log, as far as access goes."""

    team: str | None
    sees_everything: bool = False

    def sees(self, team_id: str | None) -> bool:
        return self.sees_everything or (self.team is not None and self.team == team_id)
