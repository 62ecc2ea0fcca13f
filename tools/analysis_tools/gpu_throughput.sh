#!/usr/bin/env bash
# The GPU measurement of docs/en/benchmarks.md ("Training throughput"), as one script with
# a time limit per part, for a session that is lent a GPU for a few minutes:
#
#     bash tools/analysis_tools/gpu_throughput.sh OUT_DIR
#
# 1. bf16, eager: the table of every algorithm and MAE at full size (batch 64), the rows of
#    the docs' GPU table (--markdown) and a torch.profiler trace of 3 steps per model with
#    the kernels and operators that take the most time (--profile OUT_DIR/traces);
# 2. bf16 with torch.compile: the table and its rows;
# 3. the largest batch that fits, per model (--find-max-batch), last because it is the
#    longest.
# Each part writes OUT_DIR/<part>.txt and stops at its limit (PART_TIMEOUT seconds, 240 by
# default) without stopping the others; a part stopped there keeps the line the tool
# writes as each model ends. The exit status is the number of parts that failed or timed
# out. nvidia-smi's view of the GPU goes to OUT_DIR/nvidia-smi.txt. With a device budget
# of about 15 minutes (machine start included), run PARTS="eager compile" in one call and
# PARTS=max-batch in a second.
# Environment knobs (for a dry run on the CPU, as the tests do): DEVICE (cuda), SIZE
# (full), BATCH (64), MODELS (all), ITERS and WARMUP (the tool's defaults; the compile
# part warms up COMPILE_WARMUP steps, 3), PARTS ("eager compile max-batch"), PART_TIMEOUT,
# PYTHON (python).
set -uo pipefail
out=${1:?usage: gpu_throughput.sh OUT_DIR}
cd "$(dirname "$0")/../.."
mkdir -p "$out"
python=${PYTHON:-python}
common=(--device "${DEVICE:-cuda}" --size "${SIZE:-full}" --batch-size "${BATCH:-64}" --amp)
[ -n "${MODELS:-}" ] && common+=(--models $MODELS)
[ -n "${ITERS:-}" ] && common+=(--iters "$ITERS")
[ -n "${WARMUP:-}" ] && common+=(--warmup "$WARMUP")

(nvidia-smi || echo "nvidia-smi: not available") > "$out/nvidia-smi.txt" 2>&1
git describe --always --dirty > "$out/commit.txt" 2>&1

failed=0
run_part() {  # name, then the tool's extra options
    local name=$1
    shift
    echo "== $name: $(date -u +%T) UTC"
    timeout "${PART_TIMEOUT:-240}" "$python" tools/analysis_tools/benchmark_train.py \
        "${common[@]}" "$@" > "$out/$name.txt" 2>&1
    local status=$?
    grep -v -e '^USDT' "$out/$name.txt" | tail -n 40
    if [ $status -ne 0 ]; then
        echo "== $name: exit status $status$([ $status -eq 124 ] && echo ' (time limit)')"
        failed=$((failed + 1))
    fi
}
for part in ${PARTS:-eager compile max-batch}; do
    case $part in
        eager) run_part eager --markdown --profile "$out/traces" ;;
        # compiling happens in the first steps: never time them
        compile) run_part compile --compile --markdown --warmup "${COMPILE_WARMUP:-3}" ;;
        max-batch) run_part max-batch --find-max-batch --markdown --iters 1 --warmup 0 ;;
        *) echo "unknown part '$part' (eager, compile, max-batch)"; failed=$((failed + 1)) ;;
    esac
done
echo "== done: $(date -u +%T) UTC, $failed part(s) failed"
exit $failed
