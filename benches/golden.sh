#!/usr/bin/env bash
# Byte-identity check for refactors: runs every bundled scenario and both peer scenarios with
# 2 replications through a given infersim binary and writes their report files under OUT.
# Compare two such trees with `diff -r` (the figures are left out: their SVG/PNG bytes carry
# no information the CSVs do not).
#
#   benches/golden.sh target/release/infersim /tmp/golden-new
#   diff -r /tmp/golden-base /tmp/golden-new && echo byte-identical
set -euo pipefail
bin="$(realpath "$1")"; out="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mkdir -p "$out"
for s in scenarios/*.toml benches/peers/mm8.toml benches/peers/simfaas.toml; do
  name="$(basename "$s" .toml)"
  [ "$name" = "sweep-load" ] && continue
  reps=2
  # The peer scenarios are long: 2 replications at their full horizon take a few seconds each.
  if ! "$bin" run "$s" --replications "$reps" --no-plots --out "$out/$name" >"$out/$name.stdout" 2>"$out/$name.stderr"; then
    echo "$name: failed (see $out/$name.stderr)"
  fi
done
"$bin" sweep scenarios/sweep-load.toml --replications 2 --force --out "$out/sweep-load" >/dev/null 2>&1 || echo "sweep-load: failed"
# Keep only the tables. The sweep journal is written in completion order (a resumability log,
# not a result): keep it sorted.
find "$out" -name '*.svg' -delete -o -name '*.png' -delete
if [ -f "$out/sweep-load/runs.journal" ]; then
  sort "$out/sweep-load/runs.journal" >"$out/sweep-load/runs.journal.sorted"
  rm "$out/sweep-load/runs.journal"
fi
