"""Routing's HTTP API (v1): auth, tasks and queues, teams and staff, rules, ledgers."""

from services.routing.api import admin, auth, ledger, tasks

routers = [auth.router, tasks.router, admin.router, ledger.router]

__all__ = ["routers"]
