"""The staff console (/console/) and the ledger dashboard (/console/ledger), served by routing.

Server-rendered Jinja2 pages over routing's own service layer, zh-CN by default with an English switch,
signed in with the staff token in an HttpOnly, SameSite=Strict cookie. Pages read routing through
services/routing/api/deps.get_container, like the API. See docs/routing.md.
"""

from __future__ import annotations

from services.routing.web import (
    admin,
    admin_users,
    aftercare,
    care,
    dashboard,
    pages,
    privacy,
    replies,
    search,
    servicedays,
)
from services.routing.web.base import STATIC, templates

# The dashboard before the pages: the pages end with a catch-all 404 under /console/.
# The care register's and service days' pages (便民服务日) before the pages too.
routers = [
    dashboard.router,
    aftercare.router,
    care.router,
    servicedays.router,
    search.router,
    replies.router,
    privacy.router,  # personal data: the phone's reveal, the access-audit log, export and erasure
    admin_users.router,  # administration (issue 15): /console/admin/users before /console/admin/{name}
    admin.router,
    pages.router,
]

# Reply review (审核): imported on its own line so branches adding pages do not collide; before the catch-all.
from services.routing.web import review  # noqa: E402

routers.insert(routers.index(pages.router), review.router)

__all__ = ["STATIC", "routers", "templates"]
