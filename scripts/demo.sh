#!/usr/bin/env bash
# The demo: on the embedded SQLite default, starts sluiced with three targets (two
# primaries and a disaster-recovery replica), runs a simulated SCADA feed (thousands of
# points, samples and events, a few synchronous model updates), takes a target out for
# maintenance and brings it back (it catches up from the journal), shows `sluice status`
# along the way, and ends with a summary proving every target holds the same data.
#
#   scripts/demo.sh            installs what is missing, builds if needed, runs the demo
#   scripts/demo.sh --quick    a shorter feed (used by the test suite)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

points=5000 cycles=30
if [ "${1:-}" = "--quick" ]; then points=1000 cycles=10; fi
build=${SLUICE_BUILD_DIR:-$root/build}

if [ ! -x "$build/src/daemon/sluiced" ] || [ ! -x "$build/src/cli/sluice" ] || [ ! -x "$build/src/tools/sluice-demo-feed" ]; then
  if [ "$(id -u)" -eq 0 ]; then bash scripts/install-deps.sh; fi
  echo "== building (first run only)"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j "$(nproc)" --target sluiced sluice sluice-demo-feed
fi
sluiced=$build/src/daemon/sluiced
sluice=$build/src/cli/sluice
feed=$build/src/tools/sluice-demo-feed

demo=$(mktemp -d /tmp/sluice-demo.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
address=127.0.0.1:$port
export SLUICE_ADDRESS=$address
sed -e "s|^data_dir = .*|data_dir = \"$demo/data\"|" -e "s|127.0.0.1:7400|$address|" \
  examples/sqlite-demo.toml > "$demo/sluiced.toml"

mkdir -p "$demo/data/targets"
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
  if [ "${SLUICE_DEMO_KEEP:-}" = "" ]; then rm -rf "$demo"; else echo "demo files kept in $demo"; fi
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "starting sluiced (config: examples/sqlite-demo.toml, data in $demo/data, listening on $address)"
"$sluiced" --config "$demo/sluiced.toml" >"$demo/sluiced.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  if "$sluice" status >/dev/null 2>&1; then break; fi
  sleep 0.1
done
"$sluice" status

step "simulated SCADA feed: $points points x $cycles cycles, events, model updates"
"$feed" --address "$address" --spool "$demo/spool" --points "$points" --cycles "$cycles" --cycle-ms 100 \
  > "$demo/feed1.json"
cat "$demo/feed1.json"
"$sluice" status

step "maintenance: target sqlite-b is taken out (sluice target disable sqlite-b); the feed goes on"
"$sluice" target disable sqlite-b
"$feed" --address "$address" --spool "$demo/spool" --points "$points" --cycles "$cycles" \
  --first-cycle "$cycles" --cycle-ms 50 > "$demo/feed2.json"
cat "$demo/feed2.json"
"$sluice" status

step "sqlite-b comes back (sluice target enable sqlite-b) and catches up from the journal"
"$sluice" target enable sqlite-b
for _ in $(seq 1 600); do
  if "$sluice" status --json | python3 -c '
import json,sys
s=json.load(sys.stdin)
# proto3 JSON leaves out zero values and writes 64-bit numbers as strings.
sys.exit(0 if all(int(a.get("lag_records", 0)) == 0 and a.get("state") == "running" for a in s["appliers"]) else 1)'; then break; fi
  sleep 0.2
done
"$sluice" status

step "summary: what every target holds"
status=0
python3 - "$demo" <<'PY' || status=1
import json, sqlite3, sys, os
demo = sys.argv[1]
sent = [json.load(open(os.path.join(demo, f))) for f in ("feed1.json", "feed2.json")]
want = {k: sum(s[k] for s in sent) for k in ("samples", "events", "model_updates")}
queries = {
  "samples": "SELECT count(*) FROM sample_1s",
  "events": "SELECT count(*) FROM event_log",
  "model_updates": "SELECT count(*) FROM point",
  "fingerprint": "SELECT printf('%.6f', total(value * (point_id % 97 + 1))) FROM sample_1s",
}
rows = {}
for name in ("a", "b", "dr"):
  db = sqlite3.connect(f"file:{demo}/data/targets/{name}.db?mode=ro", uri=True)
  rows[name] = {k: db.execute(q).fetchone()[0] for k, q in queries.items()}
print(f"{'target':<10}{'samples':>10}{'events':>10}{'model':>8}  fingerprint")
for name, r in rows.items():
  print(f"sqlite-{name:<3}{r['samples']:>10}{r['events']:>10}{r['model_updates']:>8}  {r['fingerprint']}")
print(f"{'sent':<10}{want['samples']:>10}{want['events']:>10}{want['model_updates']:>8}")
same = all(rows[n] == rows["a"] for n in rows)
exact = all(rows["a"][k] == want[k] for k in want)
if same and exact:
  print("RESULT: every target holds the same data, exactly what was sent")
  sys.exit(0)
print("RESULT: MISMATCH between targets or with what was sent")
sys.exit(1)
PY

step "stopping sluiced (SIGTERM: a clean shutdown)"
kill -TERM "$pid"; wait "$pid"; pid=
echo "sluiced stopped cleanly"
exit $status
