"""auditor/cli/interrupts.py on its own, in child processes (signals are for them, not for the
test process): the cases the CLI tests (test_exit_codes.py, test_collector_hostile.py) cannot
bring about on purpose."""

from __future__ import annotations

import subprocess
import sys
import textwrap

LOST_IN_A_FINALISER = textwrap.dedent("""\
    import os, signal, time
    from auditor.cli.interrupts import watched

    class Finalised:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C lands while a finaliser runs
            for _ in range(1000):  # bytecodes: the handler runs here, inside __del__
                pass

    with watched(lambda: None):
        try:
            Finalised()  # dropped at once
            time.sleep(30)  # the whole time, were the interrupt lost
            print("slept")
        except KeyboardInterrupt:
            print("interrupted")
    """)


def test_a_ctrl_c_lost_in_a_finaliser_is_raised_again() -> None:
    """CPython only prints an exception raised inside __del__ ("Exception ignored in"), so
    the KeyboardInterrupt of a Ctrl-C that lands there would be lost and the run go on: it
    is raised again where the program is, at once (not at the GRACE deadline's forced exit,
    which would say 130 and `imgaudit: interrupted`)."""
    done = subprocess.run([sys.executable, "-c", LOST_IN_A_FINALISER], capture_output=True,
                          text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (0, "interrupted\n"), done.stderr
    assert done.stderr == ""  # nothing printed for the lost one either
