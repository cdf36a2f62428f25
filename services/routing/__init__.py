"""routing: classification, teams, the work-order lifecycle, SLA clocks, work queues, ledgers."""
