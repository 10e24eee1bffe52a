"""The program: `python -m auditor`, and the console script `imgaudit`, which imports `run`
from here (pyproject.toml); nothing else imports this module.

Two costs of every start-up are cut here, before the first import:
- The run's pause of the cyclic garbage collector (auditor/gcpause.py) begins: importing the
  command line builds hundreds of modules and pydantic models, and the collector's ~80 passes
  over them freed nothing but took ~15 ms.
- pydantic looks for no plugins: finding them reads the entry points of every installed
  distribution (~5 ms in a virtual environment of 100), and loading one can cost far more
  (logfire's imports its whole SDK, ~100 ms: pydantic/logfire issue 2343), while imgaudit's
  models are its own, for no plugin to watch. `PYDANTIC_DISABLE_PLUGINS` set by the user
  still wins.
"""

import gc
import os

gc.disable()
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from auditor.cli import run  # noqa: E402  (imported once both are set)

if __name__ == "__main__":
    run()
