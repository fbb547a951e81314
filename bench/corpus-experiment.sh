#!/usr/bin/env bash
# The concept corpus as a lever (#11), measured where a CPU can train: the small config (trainer/configs/small.json,
# 1.47M parameters; ~15 minutes a build on 2 cores) built on each corpus version (trainer/seer_trainer/concepts.py),
# then every SEER model and its baseline twin through the everyday prompts and XSTest's safe prompts
# (bench/everyday.mjs --out corpus-experiment) -> bench/RESULTS-corpus-experiment.md / .json.
# The committed default (8.43M, corpus 1) is not touched: the builds go to bench/tmp/corpus-experiment/.
# Usage: bash bench/corpus-experiment.sh [VARIANT...]   VARIANT = corpus version, or VERSION:SEER_STEPS for a longer
# SEER stage (its pretraining checkpoint is the version's own, reused). Default: 1 1:2500 2 2:2500 3 3:2500. A finished build is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=bench/tmp/corpus-experiment
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(1 1:2500 2 2:2500 3 3:2500)
PY="${SEER_PYTHON:-/usr/bin/python3}"
bundles=()
for variant in "${variants[@]}"; do
  [[ "$variant" =~ ^([0-9]+)(:([0-9]+))?$ ]] || { echo "corpus-experiment: '$variant' is not VERSION or VERSION:SEER_STEPS" >&2; exit 2; }
  version="${BASH_REMATCH[1]}" steps="${BASH_REMATCH[3]}"
  out="$dir/corpus$version${steps:+-seer$steps}" config=trainer/configs/small.json
  mkdir -p "$out"
  if [ -n "$steps" ]; then
    config="$out/config.json"
    "$PY" -c 'import json, sys; c = json.load(open(sys.argv[1])); c["seer"]["steps"] = int(sys.argv[2]); json.dump(c, open(sys.argv[3], "w"), indent=1)' \
      trainer/configs/small.json "$steps" "$config"
    # the same pretraining as the version's own build: its checkpoint is found by fingerprint, nothing retrains
    [ -d "$out/ckpt" ] || [ ! -d "$dir/corpus$version/ckpt" ] || cp -r "$dir/corpus$version/ckpt" "$out/ckpt"
  fi
  if [ ! -f "$out/default/seer.json" ] || [ ! -f "$out/baseline/seer.json" ]; then
    echo "== building $config on corpus $version into $out (log: $out.log)"
    bash scripts/build-model.sh --config "$config" --corpus "$version" --device cpu \
      --out "$out/default" --baseline-out "$out/baseline" --ckpt-dir "$out/ckpt" > "$out.log" 2>&1 \
      || { tail -20 "$out.log" >&2; exit 1; }
  fi
  bundles+=("$out/default")
  [ -n "$steps" ] || bundles+=("$out/baseline")  # a longer SEER stage has the same twin as the version's own build
done
node bench/everyday.mjs --out corpus-experiment "${bundles[@]}"
