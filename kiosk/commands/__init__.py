"""One module per ``kiosk`` command; each exposes ``register(subparsers)``."""
