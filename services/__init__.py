"""The three Huiying services. A service never imports another service."""
