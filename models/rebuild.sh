#!/usr/bin/env bash
# Rebuild shipped models from their configs: train (resumes when interrupted), then export
# float32 / dynamic-range / INT8 bundles into models/, each evaluated through the device
# pipeline. Logs go to runs/NAME/{train,export}.log. Needs the host extra (pip install -e ".[host]").
#   bash models/rebuild.sh                      # all, in dependency order
#   bash models/rebuild.sh fcn32s_camvid        # one
set -euo pipefail
cd "$(dirname "$0")/.."
# unet_camvid_s80 starts from runs/unet_camvid/best.keras, so it comes after unet_camvid.
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(unet_camvid unet_camvid_s80 fcn32s_camvid unet_coco)
for name in "${names[@]}"; do
  config="models/configs/$name.yaml"
  [ -f "$config" ] || { echo "rebuild.sh: no config $config" >&2; exit 2; }
  mkdir -p "runs/$name"
  echo "== $name: train ($(date -u +%H:%M:%S))"
  edge-host train "$config" --quiet >>"runs/$name/train.log" 2>&1
  echo "== $name: export ($(date -u +%H:%M:%S))"
  edge-host export "$config" 2>&1 | tee "runs/$name/export.log"
done
