#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang 19 with ASan+UBSan) and runs each
# for a bounded time over a scratch copy of fuzz/corpus/<target>/ (plus fuzz/crashes/<target>/,
# the inputs that once crashed). New inputs stay out of the repository unless FUZZ_MERGE=1.
#   FUZZ_SECONDS=60            seconds per target
#   FUZZ_TARGETS="router ..."  a subset (default: all six)
#   FUZZ_MERGE=1               merge the inputs that add coverage into fuzz/corpus (-merge=1)
# Exits nonzero when any target crashes, leaks, hangs or runs out of memory; the input that
# did it is kept under build/fuzz/artifacts/<target>/ and its path printed.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
read -r -a targets <<<"${FUZZ_TARGETS:-http_request router api_json jupyter_wire zmtp workspace_path file_query multipart}"
# Room for the server's 16 KiB header limit and a deeply nested kernel message; requests
# that reach the router and JSON bodies need less.
declare -A max_len=([http_request]=65536 [router]=16384 [api_json]=16384 [jupyter_wire]=65536
  [zmtp]=16384 [workspace_path]=9000 [file_query]=17000
  [multipart]=65536)

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

symbolizer=/usr/lib/llvm-19/bin/llvm-symbolizer
[ -x "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH="$symbolizer"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in "${targets[@]}"; do
  fuzzer=build/fuzz/fuzz/${target}_fuzzer
  len=${max_len[$target]:?unknown target $target}
  corpus=$scratch/$target
  artifacts=build/fuzz/artifacts/$target
  log=build/fuzz/logs/$target.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  cp fuzz/corpus/"$target"/* "$corpus"/
  # Fixed crashes are seeds too; open ones (crashes/<target>/open/) are left out like their
  # DISABLED_ tests (libFuzzer would read the subdirectory).
  crashes=$scratch/$target-crashes
  mkdir -p "$crashes"
  [ -d fuzz/crashes/"$target" ] && find fuzz/crashes/"$target" -maxdepth 1 -type f -exec cp {} "$crashes"/ \;
  seeds=("$corpus" "$crashes")
  dict=()
  [ -f fuzz/dict/"$target".dict ] && dict=(-dict=fuzz/dict/"$target".dict)

  echo "=== fuzz: $target for ${seconds}s (log: $log)"
  if "$fuzzer" "${seeds[@]}" "${dict[@]}" -max_total_time="$seconds" -max_len="$len" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    >"$log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$log" || true
  else
    tail -n 40 "$log"
    echo "!!! $target failed; input(s):"
    grep -oE "Test unit written to [^ ]+" "$log" | sed "s/.* /    /"
    failed+=("$target")
    continue
  fi

  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    before=$(ls fuzz/corpus/"$target" | wc -l)
    # Edges only (not hit counts): the corpus stays at a few hundred small files.
    "$fuzzer" -merge=1 -use_counters=0 -max_len="$len" fuzz/corpus/"$target" "$corpus" >>"$log" 2>&1
    echo "    merged: $before -> $(ls fuzz/corpus/"$target" | wc -l) files in fuzz/corpus/$target"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "FUZZ FAILED: ${failed[*]} (reproduce: build/fuzz/fuzz/<target>_fuzzer <input>)"
  exit 1
fi
echo "fuzz: all targets ran ${seconds}s without a crash"
