#!/usr/bin/env bash
# Benchmarks the event log beside a raw-LMDB probe doing the same writes, in one run on one machine.
#
#   Tools/bench-log.sh                 # 100,000 events of 300 B into 10,000 streams, durable
#   EVENTS=20000 Tools/bench-log.sh    # smaller
#
# Prints one JSON object per measurement (probe-*, append, read-all, read-stream) and then one
# "compare" object per target: Casebook's median figure, the probe's, their ratio and the target.
# The probe runs twice for group commit: at a fixed batch in strict stream order (the issue's baseline),
# and replaying the log's own commits (`bench append --trace` → `probe write --order`): concurrent
# appenders drift apart, so each of their commits touches more scattered pages than a strictly ordered
# batch; the replay does exactly the same writes in exactly the same batches.
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS=${EVENTS:-100000}
SINGLE_EVENTS=${SINGLE_EVENTS:-$EVENTS}   # the one-commit-per-event runs take ~35 s each at 100,000
STREAMS=${STREAMS:-10000}
PAYLOAD=${PAYLOAD:-300}
ROUNDS=${ROUNDS:-3}                       # group-commit and read runs are repeated; medians are compared
WORK=$(mktemp -d "${TMPDIR:-/tmp}/casebook-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

cc -O2 -Wall -Wextra -o "$WORK/probe" Tools/lmdb-probe/probe.c -llmdb
swift build -c release --product casebook >&2
CASEBOOK=$(swift build -c release --show-bin-path)/casebook

OUT="$WORK/results.jsonl"
run() { "$@" | tee -a "$OUT"; }

echo "# machine: $(nproc) cores, $(uname -sr); events=$EVENTS single=$SINGLE_EVENTS streams=$STREAMS payload=$PAYLOAD rounds=$ROUNDS" >&2
# One commit per event: once each (long).
run "$WORK/probe" write --dir "$WORK/p1" --events "$SINGLE_EVENTS" --streams "$STREAMS" --payload "$PAYLOAD" --batch 1
run "$CASEBOOK" bench append --events "$SINGLE_EVENTS" --streams "$STREAMS" --writers 1 --in-flight 1 --payload "$PAYLOAD" --dir "$WORK/c1"
rm -rf "$WORK/p1" "$WORK/c1"
# Group commit: probe and Casebook alternate, ROUNDS times, so that both see the same disk weather.
for round in $(seq 1 "$ROUNDS"); do
    rm -rf "$WORK/p64" "$WORK/p1000" "$WORK/c64" "$WORK/c1024" "$WORK/r64" "$WORK/r1024"
    run "$WORK/probe" write --dir "$WORK/p64" --events "$EVENTS" --streams "$STREAMS" --payload "$PAYLOAD" --batch 64
    run "$CASEBOOK" bench append --events "$EVENTS" --streams "$STREAMS" --writers 64 --in-flight 1 --payload "$PAYLOAD" --dir "$WORK/c64" --trace "$WORK/order64"
    # The same writes in the same batches as the log's own commits: a like-for-like baseline.
    rm -rf "$WORK/r64"
    "$WORK/probe" write --dir "$WORK/r64" --streams "$STREAMS" --payload "$PAYLOAD" --order "$WORK/order64" \
        | sed 's/"bench":"probe-write"/"bench":"probe-replay","of":"64x1"/' | tee -a "$OUT"
    run "$WORK/probe" write --dir "$WORK/p1000" --events "$EVENTS" --streams "$STREAMS" --payload "$PAYLOAD" --batch 1000
    run "$CASEBOOK" bench append --events "$EVENTS" --streams "$STREAMS" --writers 64 --in-flight 16 --payload "$PAYLOAD" --dir "$WORK/c1024" --keep --trace "$WORK/order1024" 2>/dev/null
    rm -rf "$WORK/r1024"
    "$WORK/probe" write --dir "$WORK/r1024" --streams "$STREAMS" --payload "$PAYLOAD" --order "$WORK/order1024" \
        | sed 's/"bench":"probe-write"/"bench":"probe-replay","of":"64x16"/' | tee -a "$OUT"
done
# Reads, on the last stores of each.
for round in $(seq 1 "$ROUNDS"); do
    run "$WORK/probe" read-all --dir "$WORK/p1000"
    run "$WORK/probe" read-stream --dir "$WORK/p1000" --samples 2000
    run "$CASEBOOK" bench read --dir "$WORK/c1024" --samples 2000
done

python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def median(field, bench, **kw):
    vals = [r[field] for r in rows if r["bench"] == bench and all(r.get(k) == v for k, v in kw.items())]
    if not vals:
        raise SystemExit(f"missing {bench} {kw}")
    return statistics.median(vals), len(vals)
def compare(name, ours, probe, target, higher_is_better=True):
    (o, n), (p, m) = ours, probe
    ratio = o / p if p else float("nan")
    ok = ratio >= target if higher_is_better else ratio <= target
    print(json.dumps({"bench": "compare", "what": name, "casebook": o, "probe": p, "runs": [n, m],
                      "ratio": round(ratio, 3), "target": target, "met": ok}, ensure_ascii=False))
compare("1 writer: p50 append latency (us), ratio <= target", median("p50Us", "append", writers=1, inFlight=1),
        median("p50Us", "probe-write", batch=1), 1.25, higher_is_better=False)
compare("64 writers x 1: median events/s vs probe batch 64", median("eventsPerSec", "append", writers=64, inFlight=1),
        median("eventsPerSec", "probe-write", batch=64), 0.60)
compare("64 writers x 16: median events/s vs probe batch 1000", median("eventsPerSec", "append", writers=64, inFlight=16),
        median("eventsPerSec", "probe-write", batch=1000), 0.60)
compare("64 writers x 1 vs probe replaying the log's own batches (like for like)", median("eventsPerSec", "append", writers=64, inFlight=1),
        median("eventsPerSec", "probe-replay", of="64x1"), 0.60)
compare("64 writers x 16 vs probe replaying the log's own batches (like for like)", median("eventsPerSec", "append", writers=64, inFlight=16),
        median("eventsPerSec", "probe-replay", of="64x16"), 0.60)
compare("read-all, envelopes decoded in place: median events/s vs raw cursor scan", median("eventsPerSec", "read-all", mode="view"),
        median("eventsPerSec", "probe-read-all"), 0.50)
compare("read-all, decoded and copied out: median events/s vs raw cursor scan", median("eventsPerSec", "read-all", mode="copy"),
        median("eventsPerSec", "probe-read-all"), 0.50)
compare("10-event stream read: median p50 (us), ratio <= target", median("p50Us", "read-stream"),
        median("p50Us", "probe-read-stream"), 2.0, higher_is_better=False)
PY
