#!/usr/bin/env bash
# Rebuild shipped models from their configs: train (resumes when interrupted), then export
# float32 / dynamic-range / INT8 bundles into models/, each evaluated through the device
# pipeline. Logs go to runs/NAME/{train,export}.log. Needs the host extra (pip install -e ".[host]").
#   bash models/rebuild.sh                      # all
#   bash models/rebuild.sh unet_mnv2_camvid_s1 unet_mnv2_camvid   # the default model (two stages)
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(command -v edge-host || echo .venv/bin/edge-host)
[ -x "$host" ] || { echo "rebuild.sh: no edge-host: pip install -e \".[host]\" (or bash scripts/test.sh)" >&2; exit 2; }
# Two-stage models: NAME_s1 / NAME_s60 trains first, NAME starts from its best.keras
# (train.init_from): the MobileNetV2 U-Nets (unet_mnv2_camvid_s1 -> unet_mnv2_camvid and
# unet_coco_s1 -> unet_coco: train dense, then prune layer by layer)
# and the seed U-Net (unet_camvid_s60 pruning during training -> unet_camvid clustering); the
# others are independent. Per-epoch times are in each train.log.
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(unet_mnv2_camvid_s1 unet_mnv2_camvid fcn32s_mnv2_camvid unet_coco_s1 unet_coco unet_camvid_s60 unet_camvid unet_camvid_s80 fcn32s_camvid)
for name in "${names[@]}"; do
  config="models/configs/$name.yaml"
  [ -f "$config" ] || { echo "rebuild.sh: no config $config" >&2; exit 2; }
  mkdir -p "runs/$name"
  echo "== $name: train ($(date -u +%H:%M:%S))"
  "$host" train "$config" --quiet >>"runs/$name/train.log" 2>&1
  echo "== $name: export ($(date -u +%H:%M:%S))"
  "$host" export "$config" 2>&1 | tee "runs/$name/export.log"
  if [ "$name" = unet_mnv2_camvid ]; then  # the default model ships as package data
    mv "models/${name}_int8.tflite" "models/${name}_int8.json" edge_runtime/default_model/
    echo "== $name: INT8 bundle moved to edge_runtime/default_model/"
  fi
done
