"""The kiosk's domain and services: config, journey, records, outbox, sync, power policy, CLI.

Pure Python: nothing here imports pygame. Imports point down, ui -> kiosk -> hal.
"""

__version__ = "0.1.0"
