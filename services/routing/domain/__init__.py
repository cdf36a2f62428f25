"""routing's pure rules: the task model, the lifecycle, routing rules, teams, working calendar, SLA clocks,
ledger maths and the staff API's views. No I/O: time, ids and everything read from the world come in as
arguments (see services/routing/service.py for who reads what)."""
