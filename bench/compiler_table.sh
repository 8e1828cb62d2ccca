#!/usr/bin/env bash
# The comparison table of docs/compiler.md: every example compiled in each mode (optimized,
# --naive, --halo, --egraph) as `blindtune compile FILE -o plan.bin` does by default, read back with
# `blindtune explain --json`, one markdown row per plan. Figures are per trip of the innermost
# batch loop (the top level for a program without one) at the dimensions the estimate assumes.
#
#   cargo build --release && bench/compiler_table.sh [examples/NAME.bt ...] > table.md
#
# Needs jq. Extra compile flags go in $COMPILE_FLAGS (e.g. "--param EPOCHS=2").
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BLINDTUNE:-target/release/blindtune}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
files=("$@")
[ ${#files[@]} -eq 0 ] && files=(examples/*.bt)

echo "| example | mode | mul | ct×ct incl. polys | mul_plain | rotations | key switches | decompositions | bootstraps | keys | key bytes (memory / file) | est. per trip | est. total |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for f in "${files[@]}"; do
  name=$(basename "$f" .bt)
  for mode in optimized naive halo egraph; do
    flag=""
    [ "$mode" != optimized ] && flag="--$mode"
    # shellcheck disable=SC2086
    "$BIN" compile "$f" $flag ${COMPILE_FLAGS:-} -o "$OUT/$name-$mode.bin" 2>/dev/null
    "$BIN" explain --json "$OUT/$name-$mode.bin" | jq -r --arg name "$name" --arg mode "$mode" '
      def gib: . / 1073741824 * 10 | round / 10 | tostring + " GiB";
      def secs: if . == null then "-" else . / 1000 * 10 | round / 10 | tostring + " s" end;
      ([.blocks[] | select(.batch_loop)] | max_by(.depth)) as $b
      | ($b // .blocks[0]) as $b
      | [$name, $mode,
         ($b.ops.mul // 0), $b.products, ($b.ops.mul_plain // 0), $b.rotations, $b.key_switches, $b.decompositions,
         $b.bootstraps_per_trip,
         (.keys.total.galois_keys + (if .keys.total.relinearization then 1 else 0 end)),
         ((.keys.total.bytes_memory | gib) + " / " + (.keys.total.bytes_file | gib)),
         (if $b.depth == 0 then (.estimate.total_ms | secs) + " (run)" else ($b.ms_per_trip | secs) end),
         (.estimate.total_ms | secs)]
      | "| " + (map(tostring) | join(" | ")) + " |"'
  done
done
