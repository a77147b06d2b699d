#!/usr/bin/env bash
# Rebuild shipped models from their configs: every training stage each one needs, in order
# (finished stages are skipped, an interrupted one resumes), then float32 / dynamic-range /
# INT8 bundles into models/, each evaluated on val through the device pipeline. Log:
# runs/NAME.rebuild.log. Needs the host extra (pip install -e ".[host]").
#   bash models/rebuild.sh                     # every shipped model
#   bash models/rebuild.sh unet_mnv2_camvid    # the default model (all its stages)
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(command -v edge-host || echo .venv/bin/edge-host)
[ -x "$host" ] || { echo "rebuild.sh: no edge-host: pip install -e \".[host]\" (or bash scripts/test.sh)" >&2; exit 2; }
names=("$@")
if [ ${#names[@]} -eq 0 ]; then  # every shipped model: the package default and models/*_int8
  names=(unet_mnv2_camvid)
  for f in models/*_int8.tflite; do n=$(basename "$f" _int8.tflite); names+=("$n"); done
fi
for name in "${names[@]}"; do
  mkdir -p runs
  "$host" rebuild "$name" --quiet 2>&1 | tee -a "runs/$name.rebuild.log"
done
