#!/usr/bin/env bash
# Classic C allocator benchmarks from mimalloc-bench, run under LD_PRELOAD with
# arenapool, glibc (no preload), mimalloc and jemalloc in the same run: each
# program three times (-n), the allocators interleaved, medians of wall time
# (or of the throughput the fixed-time programs print) and of peak RSS, and
# arenapool's ratio to each peer. This is how the table in the README and in
# the performance notes was made. Not part of `cargo test` or CI: it needs a
# checkout of mimalloc-bench, which is not vendored here.
#
#   MIMALLOC_BENCH=/path/to/mimalloc-bench benches/classic.sh [-n RUNS] [PROGRAM...]
#
# Environment: MIMALLOC_SO (default: libmimalloc.so built from the
# libmimalloc-sys crate's sources in ~/.cargo/registry), JEMALLOC_SO (default:
# Debian's libjemalloc.so.2), THREADS (default 2). Writes target/classic/.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${MIMALLOC_BENCH:?set MIMALLOC_BENCH to a checkout of github.com/daanx/mimalloc-bench}"
RUNS=3
[ "${1:-}" = -n ] && { RUNS=$2; shift 2; }
T=${THREADS:-2}
OUT=target/classic
B=$MIMALLOC_BENCH/bench
mkdir -p "$OUT/bin"

# The library (never build it under LD_PRELOAD) and the peers.
cargo build --release --features preload --lib -q
AP=$PWD/target/release/libarenapool.so
JE=${JEMALLOC_SO:-/usr/lib/x86_64-linux-gnu/libjemalloc.so.2}
# (A preload of a missing file is ignored with a warning: the program would
# run on glibc's malloc under jemalloc's name.)
[ -f "$JE" ] || { echo "classic.sh: $JE not found (apt-get install libjemalloc2, or set JEMALLOC_SO)" >&2; exit 1; }
MI=${MIMALLOC_SO:-$PWD/$OUT/libmimalloc.so}
if [ ! -f "$MI" ]; then
  src=$(ls -d "$HOME"/.cargo/registry/src/*/libmimalloc-sys-*/c_src/mimalloc/v2 | tail -1)
  gcc -O2 -fPIC -shared -DNDEBUG -DMI_MALLOC_OVERRIDE -I"$src/include" "$src/src/static.c" -o "$MI" -lpthread
fi

# The programs (mimalloc-bench's own build flags, roughly).
CF="-O2 -DNDEBUG -w -pthread"
g++ $CF -o $OUT/bin/larson $B/larson/larson.cpp
g++ $CF -DSIZED -fsized-deallocation -o $OUT/bin/larson-sized $B/larson/larson.cpp
gcc $CF -o $OUT/bin/xmalloc-test $B/xmalloc-test/xmalloc-test.c
gcc $CF -o $OUT/bin/mstress $B/mstress/mstress.c
gcc $CF -o $OUT/bin/glibc-simple $B/glibc-bench/bench-malloc-simple.c
gcc $CF -o $OUT/bin/glibc-thread $B/glibc-bench/bench-malloc-thread.c -lm
g++ $CF -std=c++17 -o $OUT/bin/malloc-large $B/malloc-large/malloc-large.cpp
g++ $CF -std=c++17 -o $OUT/bin/cache-scratch $B/cache-scratch/cache-scratch.cpp
g++ $CF -std=c++17 -o $OUT/bin/cache-thrash $B/cache-thrash/cache-thrash.cpp
gcc $CF -I$B/rptest -o $OUT/bin/rptest $B/rptest/rptest.c $B/rptest/thread.c $B/rptest/timer.c -lm
g++ $CF -std=c++17 -DBENCH=4 -I$B/alloc-test -o $OUT/bin/alloc-test \
  $B/alloc-test/test_common.cpp $B/alloc-test/allocator_tester.cpp

# name | command | what the program prints for its throughput (fixed-time
# programs; empty: wall time is the measure). larson runs 2 s, not 5, and
# mstress 500 iterations, not 25, to suit a small machine.
PROGRAMS=(
  "larson|larson 2 8 1000 5000 100 4141 $T|s/.*Throughput = *\([0-9.]*\) operations per second.*/\1/p"
  "larson-sized|larson-sized 2 8 1000 5000 100 4141 $T|s/.*Throughput = *\([0-9.]*\) operations per second.*/\1/p"
  "xmalloc-test|xmalloc-test -w $T -t 3 -s 64|s/.*free\/sec: *\([0-9.]*\) M.*/\1/p"
  "mstress|mstress $T 50 500|"
  "rptest|rptest $T 0 1 2 500 1000 100 8 16000|s/.*[^0-9]\([0-9][0-9]*\) memory ops\/CPU second.*/\1/p"
  "glibc-simple|glibc-simple|"
  "glibc-thread|glibc-thread $T|s/^\([0-9][0-9]*\) iterations.*/\1/p"
  "malloc-large|malloc-large|"
  "cache-scratch-1|cache-scratch 1 1000 1 2000000 $T|"
  "cache-scratch-$T|cache-scratch $T 1000 1 2000000 $T|"
  "cache-thrash-1|cache-thrash 1 1000 1 2000000 $T|"
  "cache-thrash-$T|cache-thrash $T 1000 1 2000000 $T|"
  "alloc-test-1|alloc-test 1|"
  "alloc-test-$T|alloc-test $T|"
)
preload() {
  case $1 in
    glibc) echo "" ;; arenapool) echo "LD_PRELOAD=$AP" ;;
    mimalloc) echo "LD_PRELOAD=$MI" ;; jemalloc) echo "LD_PRELOAD=$JE" ;;
  esac
}
BIN=$PWD/$OUT/bin
RES=$OUT/results.tsv
: > "$RES"
WORK=$(mktemp -d)
for entry in "${PROGRAMS[@]}"; do
  IFS='|' read -r name cmd pat <<< "$entry"
  if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
  for run in $(seq "$RUNS"); do
    for a in glibc arenapool mimalloc jemalloc; do
      # (In a scratch folder: rptest writes a file into the current one.)
      # shellcheck disable=SC2046,SC2086
      (cd "$WORK" && /usr/bin/time -o time.txt -f '%e %M' env $(preload $a) "$BIN/"$cmd > out.txt 2>&1 < /dev/null)
      read -r secs rss < "$WORK/time.txt"
      tput=-
      [ -n "$pat" ] && tput=$(sed -n "$pat" "$WORK/out.txt" | tail -1)
      printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$a" "$secs" "$rss" "${tput:-NA}" | tee -a "$RES"
    done
  done
done
rm -rf "$WORK"

python3 - "$RES" <<'EOF'
import math, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
names = list(dict.fromkeys(r[0] for r in rows))
peers = ["glibc", "mimalloc", "jemalloc"]
def med(name, alloc, col):
    v = [float(r[col]) for r in rows if r[0] == name and r[1] == alloc and r[col] not in ("-", "NA")]
    return statistics.median(v) if v else None
print("\narenapool / peer: time (or inverse throughput), then peak RSS; below 1: arenapool is faster or smaller")
print("| program | " + " | ".join(peers) + " | " + " | ".join("RSS /" + p for p in peers) + " |")
print("|---" * 7 + "|")
logs = {p: [] for p in peers}
rlogs = {p: [] for p in peers}
skipped = []
for n in names:
    # A program that runs in no time (under /usr/bin/time's 10 ms) has no
    # ratio: left out of the table and the means, and named below it.
    if med(n, "arenapool", 4) is None and min(med(n, a, 2) for a in ["arenapool"] + peers) <= 0:
        skipped.append(n)
        continue
    cells, rcells = [], []
    for p in peers:
        tp = med(n, "arenapool", 4)
        if tp is not None:
            x = med(n, p, 4) / tp
        else:
            x = med(n, "arenapool", 2) / med(n, p, 2)
        r = med(n, "arenapool", 3) / med(n, p, 3)
        logs[p].append(math.log(x)); rlogs[p].append(math.log(r))
        cells.append("%.2f" % x); rcells.append("%.2f" % r)
    print("| %s | %s | %s |" % (n, " | ".join(cells), " | ".join(rcells)))
gm = lambda v: "%.2f" % math.exp(sum(v) / len(v))
print("| geometric mean (%d) | %s | %s |" % (len(names) - len(skipped), " | ".join(gm(logs[p]) for p in peers), " | ".join(gm(rlogs[p]) for p in peers)))
if skipped:
    print("left out, too short to time: " + ", ".join(skipped))
EOF
