#!/bin/bash
# The R1 pipeline under an MPI launcher, unchanged:
#   1. two ranks equal one process with the same gradient shards: every stage's model bit for
#      bit, and the results table;
#   2. two ranks whose rank 1 is killed (SIGKILL) in the middle of reasoning RL: the run ends,
#      naming rank 1, within 60 s; resumed with two ranks from the last checkpoint, it equals
#      the uninterrupted two-rank run (metrics and results, timings aside).
# Usage: ranks_and_lost_rank.sh MPIEXEC PIPELINE SAME_METRICS WORK
set -u
mpiexec=$1 pipeline=$2 same_metrics=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
common=(--quick --checkpoint-every 1 --gradient-shards 2 --reasoning-steps 12)
stages=(base r1_zero cold_start reasoning_rl rejection_sft reward_model final_rl student_base student_distilled student_cold_start)

fail() {
  echo "FAILED: $*"
  exit 1
}
# results.json without the wall times
results() { grep -v '"seconds":' "$1/results.json"; }

"$pipeline" "${common[@]}" --output "$work/one" >"$work/one.log" 2>&1 || fail "one process: $(tail -3 "$work/one.log")"
"$mpiexec" -np 2 "$pipeline" "${common[@]}" --output "$work/two" >"$work/two.log" 2>&1 ||
  fail "two ranks: $(tail -3 "$work/two.log")"
for stage in "${stages[@]}"; do
  cmp -s "$work/one/$stage/model/model.safetensors" "$work/two/$stage/model/model.safetensors" ||
    fail "stage $stage: the two-rank model differs from one process's"
done
[ "$(results "$work/one")" == "$(results "$work/two")" ] || fail "the two-rank results differ from one process's"
echo "two ranks = one process: every stage's model bit for bit, and the results"

"$mpiexec" -np 2 "$pipeline" "${common[@]}" --output "$work/killed" >"$work/killed.log" 2>&1 &
launcher=$!
until [ -e "$work/killed/reasoning_rl/latest.json" ]; do
  kill -0 "$launcher" 2>/dev/null || fail "the run ended before reaching reasoning RL's first checkpoint"
  sleep 0.02
done
victim=  # the pipeline process whose environment makes it rank 1 (the launcher's has no rank)
for process in /proc/[0-9]*; do
  tr '\0' '\n' <"$process/cmdline" 2>/dev/null | grep -qxF -- "$pipeline" || continue
  tr '\0' '\n' <"$process/environ" 2>/dev/null | grep -qxE 'OMPI_COMM_WORLD_RANK=1|PMI_RANK=1' && victim=${process#/proc/}
done
[ -n "$victim" ] || fail "no process of rank 1 found"
kill -9 "$victim"
killed_at=$(date +%s)
wait "$launcher"
status=$?
elapsed=$(($(date +%s) - killed_at))
[ "$status" -ne 0 ] || fail "the run with a killed rank exited 0"
[ "$elapsed" -le 60 ] || fail "the run took ${elapsed} s to end after rank 1 was killed"
grep -q "rank 1" "$work/killed.log" || fail "no message names rank 1: $(tail -5 "$work/killed.log")"
[ -e "$work/killed/final_rl/done.json" ] && fail "rank 1 was killed too late: the run had finished final RL"
echo "rank 1 killed: the run ended after ${elapsed} s (exit ${status}): $(grep -m1 "rank 1" "$work/killed.log")"

"$mpiexec" -np 2 "$pipeline" "${common[@]}" --output "$work/killed" --resume >"$work/resumed.log" 2>&1 ||
  fail "the resumed run failed: $(tail -3 "$work/resumed.log")"
grep -q "resumed at step" "$work/resumed.log" || fail "the resumed run did not continue from a mid-stage checkpoint"
"$same_metrics" "$work/two/metrics.jsonl" "$work/killed/metrics.jsonl" || fail "resumed metrics differ"
[ "$(results "$work/two")" == "$(results "$work/killed")" ] || fail "resumed results differ"
echo "resumed with two ranks: the metrics and results of the uninterrupted run"
