#!/bin/sh
# One dated imgaudit report per run, each compared with the last complete one.
#
#   imgaudit-periodic.sh [imgaudit scan options...]
#   e.g. imgaudit-periodic.sh --region cn-hangzhou --region cn-shanghai
#
# Writes into $IMGAUDIT_REPORTS (default /var/lib/imgaudit/reports):
#   imgaudit-<UTC time>.html  .json  .txt   this run's reports
#   latest.json, latest.html                links to the last complete run
# The JSON of the last complete run is this run's --baseline, so each report says what is new
# and what was fixed since then. Only a complete run (exit 0 or 1) becomes the baseline: an
# incomplete scan (3), an error (2, 4, 5) or Ctrl-C / SIGTERM (130 / 143) never does.
# Exit code: imgaudit's (0 clean, 1 policy findings, anything else: no verdict; see the README).
set -u

dir=${IMGAUDIT_REPORTS:-/var/lib/imgaudit/reports}
imgaudit=${IMGAUDIT:-imgaudit}
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
name="imgaudit-$stamp"
mkdir -p "$dir" || exit 2

set -- "$@" --quiet --format text --html "$dir/$name.html" --json "$dir/$name.json"
if [ -L "$dir/latest.json" ] && [ -e "$dir/latest.json" ]; then
  set -- "$@" --baseline "$dir/$(readlink "$dir/latest.json")"
fi

$imgaudit scan "$@" >"$dir/$name.txt"
code=$?
if [ "$code" -eq 0 ] || [ "$code" -eq 1 ]; then
  ln -sfn "$name.json" "$dir/latest.json"
  ln -sfn "$name.html" "$dir/latest.html"
fi
exit "$code"
