"""When the text report is coloured.

`--color always|never` wins over everything; `auto` (the default) asks the environment: a
non-empty NO_COLOR turns colour off, else a non-empty FORCE_COLOR turns it on, else colour goes
only to a terminal that is not `TERM=dumb`. The option and its choices follow pre-commit; the
variables follow no-color.org and force-color.org (any non-empty value counts, "0" included).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

COLOR_CHOICES = ("auto", "always", "never")


def use_color(setting: str, stream: TextIO, env: Mapping[str, str] = os.environ) -> bool:
    """Whether to write ANSI colour to `stream` for the `--color` setting."""
    if setting != "auto":
        return setting == "always"
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    return stream.isatty() and env.get("TERM") != "dumb"
