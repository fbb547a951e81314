#!/usr/bin/env bash
# npm run build:model — rebuilds models/default, models/baseline and REPORT.md from scratch with
# Debian's /usr/bin/python3 (python3-torch, python3-onnx, python3-regex) and WordNet as general text.
# Extra arguments go to `python -m seer_trainer build-default` (e.g. --config trainer/configs/tiny.json, --device cpu).
# The large config trains on a GPU machine: scripts/gpu-build-model.sh (prepare, run there, finish here).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${SEER_PYTHON:-/usr/bin/python3}"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
need=()
"$PY" -c 'import torch, onnx' 2>/dev/null || need+=(python3-torch python3-onnx)
"$PY" -c 'import regex' 2>/dev/null || need+=(python3-regex)
[ -f /usr/share/wordnet/data.noun ] || need+=(wordnet-base)
# Debian's torch uses the reference BLAS unless OpenBLAS is installed (about 4x slower training).
[ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ] || [ "$(uname -m)" != x86_64 ] || need+=(libopenblas0-pthread)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] || command -v sudo >/dev/null; then
    echo "== apt-get install ${need[*]}"
    $SUDO apt-get install -y -q "${need[@]}" >/dev/null
  else
    echo "Missing: ${need[*]}. Install them with: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi
# Torch's own threads (the config's "threads") do the parallel work; a multi-threaded BLAS under them
# oversubscribes the cores (measured 2x slower on 2 cores).
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
PYTHONPATH=trainer "$PY" -u -m seer_trainer build-default "$@"

# The banks' 2-D concept maps (<bank>.map.json, docs/bundle-format.md): computed by the engine, as `seer calibrate`
# computes them, from the rows the trainer calibrated the banks on (it writes them to the checkpoint folder).
out=models/default baseline=models/baseline ckpt=trainer/.ckpt
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --out) out="${args[i + 1]}" ;; --out=*) out="${args[i]#*=}" ;;
    --baseline-out) baseline="${args[i + 1]}" ;; --baseline-out=*) baseline="${args[i]#*=}" ;;
    --ckpt-dir) ckpt="${args[i + 1]}" ;; --ckpt-dir=*) ckpt="${args[i]#*=}" ;;
  esac
done
node esbuild.mjs
for bundle in "$out" "$baseline"; do
  node bin/seer.js concept-map "$ckpt/calibration-rows.jsonl" --text prompt --label concept --bundle "$bundle" --provider cpu
done
