#!/bin/bash
# Issue 8 bar (a) as run in session 6 (binary /work/bench6/tilegrad): now
# results/cpu-bench/bar-a.sh, which this calls (logs and databases then went to /tmp/bara-*).
TILEGRAD=${TILEGRAD:-/work/bench6/tilegrad} exec "$(dirname "$0")/../../bar-a.sh" "$(dirname "$0")"
