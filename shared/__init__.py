"""Huiying's common library: settings, event contracts, the bus, the outbox relay, MongoDB, observability.

Only what at least two services use lives here; a service never imports another service.
"""
