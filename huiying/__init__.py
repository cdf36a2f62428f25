"""The `huiying` command: runs the stack (with embedded MongoDB), single services, benchmarks, schemas.

This package is the only place outside the tests that imports mongoeco (see `embedded.py`).
"""
