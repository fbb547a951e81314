#!/usr/bin/env bash
# The large default model (trainer/configs/default.json) trained on a lent CUDA machine, in three steps:
#   scripts/gpu-build-model.sh prepare          here: .gpu-build/ = the config, WordNet's glosses, the config's npm
#                                               general text and the data stage (tokenizer + token streams), about
#                                               8 MB (WordNet only); the GPU machine has no wordnet-base or
#                                               node_modules and perhaps no `regex`, `onnx` or Node
#   scripts/gpu-build-model.sh run OUTDIR       on the GPU machine (carry .gpu-build): trains both stages on cuda
#                                               under `timeout`, writes OUTDIR/gpu-build.tar.part-* (<= 3 x 15 MiB)
#   scripts/gpu-build-model.sh finish DIR       here: resumes from those checkpoints (nothing is retrained), then
#                                               calibration, export, REPORT.md and concept maps as `npm run
#                                               build:model`, which swaps models/default and models/baseline in
# Env: SEER_GPU_CONFIG (prepare; default trainer/configs/default.json), SEER_GPU_TIMEOUT (run; seconds,
# default 180), SEER_GPU_DEVICE (run; default cuda: `cpu` to try the script without a GPU), SEER_PYTHON (a
# Python with torch; run: python3, prepare and finish: /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."
GPU_BUILD="${SEER_GPU_BUILD_DIR:-.gpu-build}"  # another folder: the script's own smoke test
fail() { echo "gpu-build-model: $*" >&2; exit 1; }

prepare() {
  local cfg="${SEER_GPU_CONFIG:-trainer/configs/default.json}" py="${SEER_PYTHON:-/usr/bin/python3}" stage
  stage="$(mktemp -d)"; trap "rm -rf '$stage'" EXIT
  PYTHONPATH=trainer "$py" -c 'import sys; from seer_trainer.general_text import write_wordnet_subset; write_wordnet_subset(sys.argv[1])' "$stage/wordnet"
  # The config's npm general text (general_sources) as lines: the GPU machine has no node_modules.
  PYTHONPATH=trainer "$py" -c 'import sys; from seer_trainer.config import load_config; from seer_trainer.general_text import write_general_subset
write_general_subset(sys.argv[1], load_config(sys.argv[2]).general_sources)' "$stage/text" "$cfg"
  PYTHONPATH=trainer OPENBLAS_NUM_THREADS=1 "$py" -u -m seer_trainer build-default --config "$cfg" --device cpu \
    --ckpt-dir "$stage/ckpt" --out "$stage/unused" --baseline-out "$stage/unused-base" --stop-after data
  cp "$cfg" "$stage/config.json"
  mkdir -p "$GPU_BUILD"
  tar -C "$stage" -cJf "$GPU_BUILD/inputs.tar.xz.tmp" config.json wordnet text ckpt
  mv "$GPU_BUILD/inputs.tar.xz.tmp" "$GPU_BUILD/inputs.tar.xz"
  echo "== $GPU_BUILD/inputs.tar.xz: $(du -h "$GPU_BUILD/inputs.tar.xz" | cut -f1) (config $cfg)"
}

run() {
  local out="${1:?usage: gpu-build-model.sh run OUTDIR}" py="${SEER_PYTHON:-python3}" work rc
  [ -f "$GPU_BUILD/inputs.tar.xz" ] || fail "$GPU_BUILD/inputs.tar.xz not found: run 'scripts/gpu-build-model.sh prepare' here and carry $GPU_BUILD"
  mkdir -p "$out"
  work="$(mktemp -d)"; trap "rm -rf '$work'" EXIT
  "$py" -c 'import torch' 2>/dev/null || fail "$py ($(command -v "$py")) cannot import torch; set SEER_PYTHON to a Python that can"
  "$py" -c 'import sys, tarfile
t = tarfile.open(sys.argv[1])
t.extractall(sys.argv[2], **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))' "$GPU_BUILD/inputs.tar.xz" "$work"
  "$py" -c 'import torch; print("== torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' \
    2>&1 | tee "$work/build.log"
  set +e
  SEER_WORDNET_DIR="$work/wordnet" SEER_GENERAL_TEXT_DIR="$work/text" PYTHONPATH=trainer CUBLAS_WORKSPACE_CONFIG=:4096:8 OPENBLAS_NUM_THREADS=1 \
    timeout --kill-after=10 "${SEER_GPU_TIMEOUT:-180}" "$py" -u -m seer_trainer build-default --config "$work/config.json" \
    --device "${SEER_GPU_DEVICE:-cuda}" --ckpt-dir "$work/ckpt" --out "$work/unused" --baseline-out "$work/unused-base" \
    --stop-after training 2>&1 | tee -a "$work/build.log"
  rc=${PIPESTATUS[0]}
  set -e
  echo "== stage timings"; grep -E '^\[build\] (stage|tokenizer)' "$work/build.log" || true
  if [ "$rc" != 0 ]; then
    cp "$work/build.log" "$out/build.log"
    [ "$rc" = 124 ] || [ "$rc" = 137 ] && fail "training ran past ${SEER_GPU_TIMEOUT:-180} s and was stopped; its log is $out/build.log"
    fail "training failed (exit $rc); its log is $out/build.log"
  fi
  # Only the finished stages' checkpoints (weights only, see train._finish); the data stage is in .gpu-build here.
  (cd "$work" && tar -cf - config.json build.log ckpt/pretrain-*.pt ckpt/seer-*.pt) | split -b 15m -d - "$out/gpu-build.tar.part-"
  local parts; parts=$(ls "$out"/gpu-build.tar.part-* | wc -l)
  [ "$parts" -le 3 ] || fail "the result is $parts parts of 15 MiB (more than 3): shrink the model"
  echo "== wrote $parts part(s) to $out: $(du -ch "$out"/gpu-build.tar.part-* | tail -1 | cut -f1)"
}

finish() {
  local dir="${1:?usage: gpu-build-model.sh finish DIR (the folder holding gpu-build.tar.part-*)}" ckpt=trainer/.ckpt/gpu stage
  ls "$dir"/gpu-build.tar.part-* >/dev/null 2>&1 || fail "no $dir/gpu-build.tar.part-* files"
  [ -f "$GPU_BUILD/inputs.tar.xz" ] || fail "$GPU_BUILD/inputs.tar.xz not found (the data stage the GPU run used)"
  stage="$(mktemp -d)"; trap "rm -rf '$stage'" EXIT
  cat "$dir"/gpu-build.tar.part-* | tar -x -C "$stage"
  tar -xJf "$GPU_BUILD/inputs.tar.xz" -C "$stage" ckpt
  mkdir -p "$ckpt"; mv "$stage"/ckpt/* "$ckpt"/; cp "$stage/config.json" "$ckpt/config.json"
  grep -E '^\[build\] stage' "$stage/build.log" | sed 's/^/GPU run: /' || true
  # The checkpoints are found by fingerprint (config + data): if the corpus changed since `prepare`, the build
  # here would quietly retrain on the CPU for an hour. Compare the fingerprints first (the data stage is cached).
  local theirs ours
  theirs=$(grep -o 'fingerprints: [^)]*' "$stage/build.log" | head -1)
  ours=$(PYTHONPATH=trainer "${SEER_PYTHON:-/usr/bin/python3}" -m seer_trainer build-default --config "$ckpt/config.json" \
    --ckpt-dir "$ckpt" --device cpu --out "$stage/unused" --baseline-out "$stage/unused-base" --stop-after data | grep -o 'fingerprints: [^)]*' | head -1)
  [ -n "$theirs" ] && [ "$theirs" = "$ours" ] || fail "the GPU run's checkpoints ($theirs) do not match this tree ($ours): the config or the corpus changed; prepare and run again"
  # The same config and data give the same fingerprints: both stages load as finished, nothing retrains.
  scripts/build-model.sh --config "$ckpt/config.json" --ckpt-dir "$ckpt" --device cpu "${@:2}"
}

case "${1:-}" in
  prepare) prepare ;;
  run) run "${2:-}" ;;
  finish) finish "${@:2}" ;;
  *) fail "usage: scripts/gpu-build-model.sh prepare | run OUTDIR | finish DIR" ;;
esac
