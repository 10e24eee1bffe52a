"""The program: `python -m auditor`, and the console script `imgaudit`, which imports `run`
from here (pyproject.toml); nothing else imports this module.

The run's pause of the cyclic garbage collector (auditor/gcpause.py) begins here, before the
first import: importing the command line builds hundreds of modules and pydantic models, and
the collector's ~80 passes over them freed nothing but took ~15 ms of every start-up.
"""

import gc

gc.disable()

from auditor.cli import run  # noqa: E402  (imported once the pause has begun)

if __name__ == "__main__":
    run()
