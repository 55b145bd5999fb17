"""``python -m office``: the ``dukcapil-office`` command."""

import sys

from office.cli import main

sys.exit(main())
