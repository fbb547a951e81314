#!/usr/bin/env bash
# General text as a lever (#11), measured where a CPU can train both stages from scratch: the small config
# (trainer/configs/small.json, 1.47M parameters) with the committed recipe's corpus 3 (LM dialogues from corpus 1) and
# mean pooling, 2,400 LM steps, in four arms (docs/benchmarks.md "General text as a lever"):
#   A  general_sources [wordnet]                       B  + sotu, moby-dick
#   C  as B, max_lm_dialogues 40000 (the dialogues keep their share of the LM stream)
#   D  as B, 6,000 LM steps (as many passes over its stream as A over its own)
# then every SEER model and its twin through the everyday prompts and XSTest's safe prompts
# (bench/everyday.mjs --out english-small) -> bench/RESULTS-english-small.md / .json. Two builds at a time (15-24 min
# each on one core); a finished build is reused. The builds go to bench/tmp/general-text-experiment/.
# Usage: [SEED=N] bash bench/general-text-experiment.sh [ARM...]   (default: A B C D; SEED: another seed than the
# config's 1234, whose builds go to .../ARM-seedN and results to bench/RESULTS-english-small-seedN.md)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=bench/tmp/general-text-experiment
arms=("$@")
[ ${#arms[@]} -gt 0 ] || arms=(A B C D)
PY="${SEER_PYTHON:-/usr/bin/python3}"
[[ "${SEED:-}" =~ ^[0-9]*$ ]] || { echo "general-text-experiment: SEED '$SEED' is not a number" >&2; exit 2; }
suffix="${SEED:+-seed$SEED}"

build() {  # ARM: writes its config from small.json, then builds it unless built
  local arm="$1" out="$dir/$1$suffix"
  mkdir -p "$out"
  "$PY" - "$arm" "$out/config.json" "${SEED:-}" <<'EOF'
import json, sys
arm, path, seed = sys.argv[1:4]
c = json.load(open("trainer/configs/small.json"))
c.update(corpus=3, pretrain_corpus=1)
if seed:
    c["seed"] = int(seed)
c["pretrain"]["steps"] = 2400
c["seer"]["pooling"] = "mean"
if arm != "A":
    c["general_sources"] = ["wordnet", "sotu", "moby-dick"]
if arm == "C":
    c["max_lm_dialogues"] = 40000
if arm == "D":
    c["pretrain"]["steps"] = 6000
json.dump(c, open(path, "w"), indent=1)
EOF
  [ -f "$out/default/seer.json" ] && [ -f "$out/baseline/seer.json" ] && return 0
  echo "== building arm $arm into $out (log: $out.log)"
  bash scripts/build-model.sh --config "$out/config.json" --device cpu --pretrained-from none \
    --out "$out/default" --baseline-out "$out/baseline" --ckpt-dir "$out/ckpt" > "$out.log" 2>&1 \
    || { tail -20 "$out.log" >&2; return 1; }
}

for arm in "${arms[@]}"; do
  [[ "$arm" =~ ^[ABCD]$ ]] || { echo "general-text-experiment: arm '$arm' is not one of A B C D" >&2; exit 2; }
done
pids=()
for arm in "${arms[@]}"; do
  build "$arm" & pids+=($!)
  if [ ${#pids[@]} -eq 2 ]; then wait "${pids[0]}"; wait "${pids[1]}"; pids=(); fi
done
for pid in "${pids[@]}"; do wait "$pid"; done
bundles=()
for arm in "${arms[@]}"; do bundles+=("$dir/$arm$suffix/default"); done
for arm in "${arms[@]}"; do bundles+=("$dir/$arm$suffix/baseline"); done
node bench/everyday.mjs --out "english-small$suffix" "${bundles[@]}"
