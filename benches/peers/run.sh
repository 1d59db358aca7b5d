#!/usr/bin/env bash
# Peers side by side: installs SimPy 4.1.2, Ciw 3.2.7 and SimFaaS 0.2.2 from PyPI into a virtual
# environment outside the source tree, builds infersim (release binary and the peers_bench
# bench), then runs, one after the other, in rounds:
#   (1) M/M/8 at rho = 0.9, 10^6 customers: SimPy, Ciw, infersim (benches/peers/mm8.toml);
#   (2) SimFaaS's single-function model, 10^6 s: SimFaaS, SimPy, infersim (simfaas.toml);
# then infersim's replications for the agreement checks, memory against run length (10^6 to
# 10^8 requests), --jobs 1 against --jobs 2, and 1, 100 and 1,000 functions (functions.py).
# Prints the tables (see BENCHMARKS.md, "Peers side by side") and writes everything to
# target/peers/ (results.json, results.md, functions/).
#
#   benches/peers/run.sh                       # everything: about 15 minutes on an idle machine
#   ROUNDS=3 SKIP=memory,scaling benches/peers/run.sh
#   PEERS_VENV=/tmp/peers-venv benches/peers/run.sh
#
# Environment: ROUNDS (5), SKIP (comma list of peers,memory,scaling,functions), PEERS_VENV (venv
# directory, default target/peers-venv), PYTHON (interpreter that creates the venv, python3),
# CARGO_TARGET_DIR (as for cargo), RETRIES (8), QUIET_WAIT (600 s). Meant for an otherwise idle
# machine: each timed command waits until the machine has been idle for 5 s (at most QUIET_WAIT
# seconds), and a command during which other processes used CPU is run again (at most RETRIES
# times; the run kept after that is flagged with a warning).
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in the source tree
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${PEERS_VENV:-$target/peers-venv}"
out="$target/peers"

[ -x /usr/bin/time ] || { echo "run.sh needs GNU time (/usr/bin/time; apt-get install time)" >&2; exit 2; }

if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r "$here/requirements.txt" -c "$here/constraints.txt"
"$venv/bin/python" -c 'import simpy, ciw, simfaas; print("peers: simpy", simpy.__version__, "· ciw", ciw.__version__, "· simfaas 0.2.2")'

cargo build --release --quiet
bench="$(cargo bench --bench peers_bench --no-run --message-format=json 2>/dev/null \
  | "$venv/bin/python" -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "peers_bench" and m.get("executable"):
        print(m["executable"])')"
[ -n "$bench" ] || { echo "could not build the peers_bench bench" >&2; exit 1; }
echo "infersim: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '(no git)')$(git -C "$root" diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted changes in src/'), rustc $(rustc --version | cut -d' ' -f2), $(nproc) cores"

rm -rf "$out"
mkdir -p "$out"
"$venv/bin/python" "$here/driver.py" --root "$root" --infersim "$target/release/infersim" \
  --bench "$bench" --out "$out" --rounds "${ROUNDS:-5}" --skip "${SKIP:-}" \
  --retries "${RETRIES:-8}" --quiet-wait "${QUIET_WAIT:-600}"
if [[ ",${SKIP:-}," != *",functions,"* ]]; then
  echo
  echo "functions: 1, 100 and 1,000 functions, 10^6 arrivals each (trace replay)"
  "$venv/bin/python" "$here/functions.py" --infersim "$target/release/infersim" \
    --out "$out/functions" --retries "${RETRIES:-8}" --quiet-wait "${QUIET_WAIT:-600}"
fi
