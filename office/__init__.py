"""The Dukcapil office service: where kiosks deliver their sealed records, and the office finds them.

Modules, each with one job:

- :mod:`office.keys`: the service's key file (the sealed-box pair kiosks seal to, the acknowledgement pair
  that signs receipts) and the NIK lookup secret derived from it.
- :mod:`office.db`: the tables (one SQLAlchemy ``MetaData``), engines for SQLite or PostgreSQL, migrations.
- :mod:`office.store`: every read and write of the database, the API the web pages use.
- :mod:`office.ingest`: checking, opening and storing one sealed record (HTTP and USB bundle share it).
- :mod:`office.limits`: strict header parsing and per-kiosk rate limits.
- :mod:`office.app`: the ASGI application (Starlette) speaking the kiosk's ingest protocol.
- :mod:`office.server`: uvicorn around the application, in the foreground or on a background thread.
- :mod:`office.cli`: the ``dukcapil-office`` command.

The service takes from :mod:`kiosk` only what both ends must share: records, sealing, reference codes, the
wire protocol (:mod:`kiosk.protocol`) and the USB bundle format (:mod:`kiosk.usb_export`).
"""
