"""Routing's HTTP API (v1): auth, tasks and queues, teams, staff, rules, ledgers, search, canned replies."""

from services.routing.api import (
    auth,
    care,
    followups,
    ledger,
    privacy,
    replies,
    rules,
    search,
    servicedays,
    staff,
    tasks,
    teams,
)

routers = [auth.router, tasks.router, teams.router, staff.router, rules.router, ledger.router, followups.router]
routers += [care.router]  # the care register (走访慰问)
# service days (便民服务日)
routers += [servicedays.router]

# Staff search, saved views, bulk actions and canned replies (issue 15).
routers += [search.router, replies.router]
# Personal data (个人信息保护法): reveal a phone (logged), the access-audit log, export and erasure.
routers += [privacy.router]
from services.routing.api import admin  # noqa: E402

# Administration: versioned config documents and their audit log (issue 15 point 6).
routers += [admin.router]
# Reply review (审核, issue 15): imported here, on its own line, so branches adding routers do not collide.
from services.routing.api import review  # noqa: E402

routers += [review.router]
# Routers that refuse unknown query parameters themselves (422 naming them), not with the common 400.
own_query_routers = [search.search_router]

__all__ = ["own_query_routers", "routers"]
