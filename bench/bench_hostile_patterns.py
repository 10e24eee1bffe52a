"""Time the hostile regexes and globs of tests/test_rule_patterns.py under RE2, and the refusal
of the syntax RE2 lacks (backreferences, lookaround, ...).

    python bench/bench_hostile_patterns.py [--repeat 1000]

Prints, per case, the time of one compile-and-reject (refused patterns) or one match of the
hostile text (accepted patterns; the match cache is bypassed so every match is real work).
Under Python's `re` the first cases run for minutes or hours; the numbers here are microseconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from test_rule_patterns import HANG_CASES, REFUSED  # noqa: E402

from auditor.engine.patterns import check_regex, glob_matcher, regex_matcher  # noqa: E402


def _best(func, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1000)
    repeat = parser.parse_args().repeat
    slowest = 0.0
    print(f"{'case':<60} {'best of ' + str(repeat):>14}")
    for op, pattern, text in HANG_CASES:
        match = regex_matcher(pattern) if op == "regex" else glob_matcher([pattern])
        seconds = _best(lambda m=match, t=text: m.__wrapped__(t), repeat)  # bypass the cache
        slowest = max(slowest, seconds)
        print(f"{op} {pattern[:40]!r} vs {len(text)} chars".ljust(60), f"{seconds * 1e6:10.1f} us")
    rejected = 0.0
    for pattern, _ in REFUSED:
        seconds = _best(lambda p=pattern: check_regex(p), repeat)
        rejected = max(rejected, seconds)
        print(f"refuse {pattern!r}".ljust(60), f"{seconds * 1e6:10.1f} us")
    print(f"slowest hostile match: {slowest * 1e6:.1f} us; "
          f"slowest refusal: {rejected * 1e6:.1f} us")


if __name__ == "__main__":
    main()
