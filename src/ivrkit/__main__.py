"""``python -m ivrkit``: the ``ivrkit`` command, for when the script is not on PATH."""

from __future__ import annotations

import sys

from ivrkit.cli import main

sys.exit(main())
