"""``kiosk services``: check the service files an office edited, before the kiosk shows them to citizens.

Loads the shipped services plus the office's ``[kiosk] services_dir`` (or ``--dir``) exactly as the kiosk
does, and lists what citizens will see: each service with its steps, field count and checklist. A broken
file is reported on one line naming the file and the key. It also checks that the configured regency has a
kecamatan list when a service asks for a kecamatan. Exit status 0 when everything is usable, 1 when a service
cannot be answered (no kecamatan list), 2 for a broken file or config.
"""

from __future__ import annotations

import argparse
import sys

from kiosk.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_config_argument
from kiosk.config import load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``services`` command."""
    parser = subparsers.add_parser(
        "services",
        help="check the service files (fields, steps, document checklists)",
        description="Load the shipped services and the office's overrides ([kiosk] services_dir) as the "
        "kiosk does, report any mistake with the file and key, and list what citizens will see.",
    )
    add_config_argument(parser)
    parser.add_argument(
        "--dir", metavar="DIR", help="office services folder to check instead of services_dir"
    )
    parser.add_argument("--language", choices=("id", "en"), default="id", help="language of the listing")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check and list the services."""
    # Here, not at the top: building the command line's parser must not import the kiosk's parts (kiosk.cli).
    from kiosk.regions import districts_of, regency_name
    from kiosk.services import ServiceFileError, load_services

    config = load_config(args.config)
    office_dir = args.dir or config.kiosk.services_dir
    try:
        catalog = load_services(office_dir or None)
    except ServiceFileError as exc:
        print(f"kiosk services: {exc}", file=sys.stderr)
        return EXIT_USAGE
    language = args.language
    districts = districts_of(config.kiosk.regency)
    status = EXIT_OK
    print(f"services from the firmware{f' and {office_dir}' if office_dir else ''}:")
    for service in catalog:
        steps = ["identity", "details"]
        steps += ["photo"] if service.photo else []
        steps += ["signature"] if service.signature else []
        required = sum(item.required for item in service.documents)
        print(f"  {service.id}: {service.name.get(language)}")
        print(f"    steps: {', '.join(steps)}; {len(service.fields)} fields")
        print(f"    documents: {required} required, {len(service.documents) - required} if applicable")
        needs_kecamatan = any(spec.kind == "kecamatan" for spec in service.fields)
        if needs_kecamatan and not districts:
            print(
                f"    PROBLEM: asks for a kecamatan but regency {config.kiosk.regency} has no kecamatan list "
                "([kiosk] regency)",
            )
            status = EXIT_FAILED
    if districts:
        name = regency_name(config.kiosk.regency)
        print(f"kecamatan of {name} ({config.kiosk.regency}): {', '.join(d.name for d in districts)}")
    return status
