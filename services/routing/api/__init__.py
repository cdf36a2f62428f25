"""Routing's HTTP API (v1): auth, tasks and queues, teams, staff, rules, ledgers."""

from services.routing.api import auth, ledger, rules, staff, tasks, teams

routers = [auth.router, tasks.router, teams.router, staff.router, rules.router, ledger.router]

__all__ = ["routers"]
