"""intake: the resident-facing request — validation, channels, Open311, tracking codes, status view."""
