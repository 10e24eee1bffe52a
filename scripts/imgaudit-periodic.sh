#!/bin/sh
# One dated imgaudit report per run, each compared with the last complete one, and a history
# of every run beside them.
#
#   imgaudit-periodic.sh [imgaudit scan options...]
#   e.g. imgaudit-periodic.sh --region cn-hangzhou --region cn-shanghai
#
# Writes into $IMGAUDIT_REPORTS (default /var/lib/imgaudit/reports):
#   imgaudit-<UTC time>.html  .json  .txt   this run's reports (the time: $IMGAUDIT_NOW if set)
#   latest.json, latest.html                links to the last complete run
#   history.sqlite                          the runs ($IMGAUDIT_HISTORY; see `imgaudit history`)
# The JSON of the last complete run is this run's --baseline, so each report says what is new
# and what was fixed since then; the history adds when each finding was first seen, its age
# and the HTML's trend. Only a complete run (exit 0 or 1) becomes the baseline: an incomplete
# scan (3), an error (2, 4, 5) or Ctrl-C / SIGTERM (130 / 143) never does. The history records
# complete and incomplete runs (an incomplete one fixes nothing it did not see); an error (2)
# leaves it as it was. After a run that recorded (0, 1, 3), runs older than $IMGAUDIT_KEEP_DAYS
# days (default 400; 0 keeps everything) leave the history (each scope keeps its latest run and
# its open findings), and dated reports older than that are deleted.
# Exit code: imgaudit's (0 clean, 1 policy findings, anything else: no verdict; see the README).
set -u

dir=${IMGAUDIT_REPORTS:-/var/lib/imgaudit/reports}
imgaudit=${IMGAUDIT:-imgaudit}
history=${IMGAUDIT_HISTORY:-$dir/history.sqlite}
keep=${IMGAUDIT_KEEP_DAYS:-400}
case $keep in
  '' | *[!0-9]*) echo "imgaudit-periodic: IMGAUDIT_KEEP_DAYS=$keep: expected days" >&2; exit 2 ;;
esac
# the scan's own time: IMGAUDIT_NOW's when set (a replayed run; GNU date reads ISO 8601)
if [ -n "${IMGAUDIT_NOW:-}" ]; then
  stamp=$(date -u -d "$IMGAUDIT_NOW" +%Y-%m-%dT%H%M%SZ 2>/dev/null) || {
    echo "imgaudit-periodic: IMGAUDIT_NOW=$IMGAUDIT_NOW: expected an ISO 8601 time with its" \
      "zone, such as 2026-11-27T08:00:00Z" >&2; exit 2; }
else
  stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
fi
name="imgaudit-$stamp"
mkdir -p "$dir" || exit 2

set -- "$@" --quiet --format text --html "$dir/$name.html" --json "$dir/$name.json" \
  --history "$history"
if [ -L "$dir/latest.json" ] && [ -e "$dir/latest.json" ]; then
  set -- "$@" --baseline "$dir/$(readlink "$dir/latest.json")"
fi

text="$dir/.$name.txt.tmp"  # the text report, kept once the scan has a report to keep
trap 'rm -f "$text"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
$imgaudit scan "$@" >"$text"
code=$?
if [ "$code" -le 1 ] || [ "$code" -eq 3 ]; then
  mv -f "$text" "$dir/$name.txt"
fi
if [ "$code" -le 1 ]; then
  ln -sfn "$name.json" "$dir/latest.json"
  ln -sfn "$name.html" "$dir/latest.html"
fi
if [ "$keep" -gt 0 ] && { [ "$code" -le 1 ] || [ "$code" -eq 3 ]; }; then
  $imgaudit history prune --keep-days "$keep" --history "$history" >/dev/null
  find "$dir" -maxdepth 1 -type f -mtime +"$keep" \( -name 'imgaudit-*.html' \
    -o -name 'imgaudit-*.json' -o -name 'imgaudit-*.txt' \) -exec rm -f {} +
fi
exit "$code"
