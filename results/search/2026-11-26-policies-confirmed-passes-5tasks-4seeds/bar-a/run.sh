#!/bin/bash
# Issue 8 bar (a) as run on 2026-11-26 (binary /work/bench6/tilegrad): bar-a.sh, next to this
# file, which this calls (logs and databases then went to /tmp/bara-*).
TILEGRAD=${TILEGRAD:-/work/bench6/tilegrad} exec "$(dirname "$0")/bar-a.sh" "$(dirname "$0")"
