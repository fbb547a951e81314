#!/usr/bin/env bash
# The project's one prepared run on a lent GPU machine (GPU time is scarce: one call, then give it back).
# Here: `npm run build && node bench/gpu.mjs --prepare && EXTRA="bench/tmp/gpu.js bench/tmp/host-worker.js node_modules/esbuild
#   node_modules/@esbuild node_modules/@huggingface/tokenizers" bash ../shared/tools/gpu/pack.sh`
# (esbuild and the tokenizers package: hf-train tokenizes with the engine's own code); move models/baseline and
# models/*/model.pt out of the tree for the call (64 MiB limit). There, with carry [".gpu", ".gpu-build"]:
#   bash .gpu/run.sh bash bench/gpu-session.sh "$OUT"
# Each step has its own time limit (env FIDELITY_S, BUILD_S, BENCH_S, AGREE_S, TORCH_PROFILE_S (default 0: off;
# bench/gpu_torch_profile.py; TORCH_PROFILE_VARIANTS narrows its variants), FP16_S, PROFILE_S; BENCH_PROVIDERS narrows the providers; 0 skips the fidelity check, the build,
# the agreement check or the profile; HOST_THREADS_AB=auto|N measures the 1B's torch rows again with SEER_HOST_THREADS set
# (the engine's host worker threads; off by default until this has measured them); ROWS_AB=N measures the 1B's torch rows again with SEER_CUDA_MAX_ROWS=N (PROFILE_S=70 runs the WebGPU fp16-compute experiment and profile: off by default
# since the torch provider is the faster path to issue 10's goals); BENCH_FP16= and BENCH_MODELS narrow the benchmark;
# BENCH_DTYPES=fp16 with BENCH_MODELS=llama-3.1-8b: the 8B shape in 16 + 16 GB of disk, not measured yet), so one that hangs cannot take the others' time; every step's output lands in
# OUTDIR (at most 8 files come back): log.txt (with `seer doctor`), fidelity.txt, results-gpu.json, RESULTS-gpu.md,
# profile.json and the default model's build (scripts/gpu-build-model.sh, when .gpu-build was carried: 3 files).
# Measured on an H200 (2026-11-27): machine start 1-2 min; doctor 3 s; fidelity 24 s (transformers import
# included); the random Llama-3.2-1B checkpoint + `seer import` ~60 s per dtype; its WebGPU rows ~45 s, PyTorch's
# fp32 + bf16 rows ~40 s; its CPU rows over 30 s at 16 cores; scripts/gpu-build-model.sh run 180 s. With 15 min of
# device time, a build and the full benchmark do not both fit: choose, or narrow with BENCH_MODELS / BENCH_FP16=.
# Second session (2026-11-27, H200): start and transfer ~45 s; the full benchmark without fp16 (torch, WebGPU, CPU,
# both models) 255 s; agreement 58 s; torch rows of the 1B alone (BENCH_PROVIDERS=torch) 145 s; TORCH_PROFILE_S 90 s.
# Third (2026-11-27, H200): 270 s in all for the 1B's torch rows (135 s, import included), agreement (51 s) and the
# profile's ours,ours-eager,hf variants (62 s).
set -uo pipefail
out=${1:?usage: gpu-session.sh OUTDIR}
mkdir -p "$out"
exec > >(tee -a "$out/log.txt") 2>&1
step() { echo "== $(date -u +%T) $*"; }

step machine
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
nproc; free -g | head -2; python3 -c 'import torch, transformers, onnxruntime; print("torch", torch.__version__, "transformers", transformers.__version__, "onnxruntime", onnxruntime.__version__)'

step "seer doctor"
timeout 60 node bin/seer.js doctor; echo "doctor exit $?"
python3 -c 'import onnxruntime; print("python onnxruntime providers:", onnxruntime.get_available_providers())'

if [ "${FIDELITY_S:-90}" != 0 ]; then
step "import fidelity against transformers, hf-train on CUDA"
PYTHONPATH=trainer timeout "${FIDELITY_S:-90}" python3 -m pytest trainer/tests/test_against_transformers.py -q -rA -s \
  -p no:cacheprovider > "$out/fidelity.txt" 2>&1
echo "fidelity exit $?"; tail -5 "$out/fidelity.txt"
fi

if [ -f .gpu-build/inputs.tar.xz ] && [ "${BUILD_S:-150}" != 0 ]; then
  step "default model on CUDA"
  SEER_GPU_TIMEOUT=${BUILD_S:-150} bash scripts/gpu-build-model.sh run "$out"
  echo "build exit $?"
fi
step "GPU benchmark (webgpu, the torch provider in bfloat16, cpu; PyTorch CUDA eager beside them)"
SEER_PYTHON=python3 timeout "${BENCH_S:-260}" node bench/gpu.mjs --gpu --quick ${BENCH_FP16---fp16} ${BENCH_DTYPES:+--dtypes "$BENCH_DTYPES"} --models "${BENCH_MODELS:-llama-3.2-1b,default}" ${BENCH_PROVIDERS:+--providers "$BENCH_PROVIDERS"} \
  --out "$out" --work /tmp/seer-gpu-bench
rc=$?; echo "bench exit $rc"
# Stopped before it wrote the results: the measurements it made, for `node bench/gpu.mjs --from DIR` here.
[ $rc = 0 ] || [ ! -d /tmp/seer-gpu-bench/pieces ] || tar -C /tmp/seer-gpu-bench -cf "$out/pieces.tar" pieces

B=/tmp/seer-gpu-bench
if [ -n "${ROWS_AB:-}" ] && [ -f $B/llama-3.2-1b-fp32/seer.json ]; then
  step "rows per forward on CUDA: the 1B's torch rows again with SEER_CUDA_MAX_ROWS=$ROWS_AB (smaller forwards overlap scoring)"
  SEER_CUDA_MAX_ROWS=$ROWS_AB SEER_PYTHON=python3 timeout "${ROWS_AB_S:-120}" node bench/tmp/gpu.js $B/llama-3.2-1b-fp32 torch \
    --runs 10 --row-seconds 10 > "$out/engine-torch-rows$ROWS_AB.json"
  echo "rows A/B exit $?"; cat "$out/engine-torch-rows$ROWS_AB.json"; echo
fi

if [ -n "${HOST_THREADS_AB:-}" ] && [ -f $B/llama-3.2-1b-fp32/seer.json ]; then
  step "host threads: the 1B's torch rows again with SEER_HOST_THREADS=$HOST_THREADS_AB (tokenizing and scoring beside the engine's thread)"
  SEER_HOST_THREADS=$HOST_THREADS_AB SEER_PYTHON=python3 timeout "${HOST_THREADS_AB_S:-120}" node bench/tmp/gpu.js $B/llama-3.2-1b-fp32 torch \
    --runs 10 --row-seconds 10 > "$out/engine-torch-threads-$HOST_THREADS_AB.json"
  echo "host threads A/B exit $?"; cat "$out/engine-torch-threads-$HOST_THREADS_AB.json"; echo
fi

if [ -f $B/llama-3.2-1b-fp32/seer.json ] && [ "${AGREE_S:-120}" != 0 ]; then
  step "torch provider (bfloat16, CUDA) against onnxruntime float32 CPU: same prompts, the 1B bundle"
  # bfloat16 (the default) and float32: the latter checks the fused-attention path against onnxruntime to ~1e-5.
  SEER_PYTHON=python3 timeout "${AGREE_S:-120}" node bench/provider-agreement.mjs $B/llama-3.2-1b-fp32 "cpu" "torch" "torch --torch-dtype float32"
  echo "agreement exit $?"
fi

if [ "${TORCH_PROFILE_S:-0}" != 0 ] && [ -f $B/llama-3.2-1b-fp32/seer.json ]; then
  step "where the torch provider's forward spends its time, beside transformers (first calls at new lengths, profiler tables)"
  PYTHONUNBUFFERED=1 timeout "$TORCH_PROFILE_S" python3 bench/gpu_torch_profile.py $B/llama-3.2-1b-fp32 $B/llama-3.2-1b-hf \
    ${TORCH_PROFILE_VARIANTS:+--variants "$TORCH_PROFILE_VARIANTS"} > "$out/profile-torch.txt" 2>&1
  echo "torch profile exit $?"; grep '^{' "$out/profile-torch.txt"
fi

if [ "${PROFILE_S:-0}" != 0 ]; then
step "float16 compute (experiment): the 1B graph converted by onnxruntime's converter"
timeout "${FP16_S:-70}" python3 bench/gpu_fp16_compute.py $B/llama-3.2-1b-fp32 $B/llama-3.2-1b-fp16compute
echo "fp16 compute exit $?"

step "where the 1B forward spends its time; each run against float32 on the CPU, same feed"
runs="$B/llama-3.2-1b-fp32@webgpu"
[ -f $B/llama-3.2-1b-fp16compute/model.onnx ] && runs="$runs $B/llama-3.2-1b-fp16compute@webgpu"
[ -f $B/llama-3.2-1b-fp16/model.onnx ] && runs="$runs $B/llama-3.2-1b-fp16@webgpu"
timeout "${PROFILE_S:-70}" node bench/gpu-profile.mjs $runs $B/llama-3.2-1b-fp32@cpu --tokens 128,512 --out "$out/profile.json" > /dev/null
echo "profile exit $?"
fi

step done
