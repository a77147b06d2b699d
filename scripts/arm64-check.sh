#!/usr/bin/env bash
# Prove it on Arm: install the project the way the README tells a Raspberry Pi user, in an
# emulated arm64 Debian Bookworm (the base of 64-bit Raspberry Pi OS: debootstrap +
# qemu-user-static through binfmt_misc), and check it there for a Pi 4 (cortex-a72) and a
# Pi 5 (cortex-a76) CPU: doctor, inspect, segment (its masks against x86's, its mIoU against
# x86's), the daemon on loopback, and the tflite-runtime fallback import. Emulation proves
# installs and results, never speed: nothing here is timed.
#
#   bash scripts/arm64-check.sh        # needs root (debootstrap, chroot, binfmt_misc)
#
# The arm64 root and its venv are cached in $EDGE_ARM64_CACHE (default
# /var/cache/edge-runtime/arm64-bookworm), never in the repository. One summary line per
# check; exit status 1 when any check fails, 2 when the machine cannot run the check at all.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
CACHE=${EDGE_ARM64_CACHE:-/var/cache/edge-runtime/arm64-bookworm}
ROOT=$CACHE/root
MIRROR=${EDGE_ARM64_MIRROR:-http://deb.debian.org/debian}
CPUS=${EDGE_ARM64_CPUS:-"cortex-a72 cortex-a76"}
WORK=$(mktemp -d)
FAILED=0
say() { echo "arm64-check: $*"; }
check() {  # check NAME COMMAND...: one line, ok or FAIL
  local name=$1; shift
  if "$@" >"$WORK/out" 2>&1; then say "ok   $name"; else say "FAIL $name"; tail -n 20 "$WORK/out" | sed 's/^/    /'; FAILED=1; fi
}
die() { say "cannot run: $*"; exit 2; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot and binfmt_misc)"
[ "$(uname -m)" = x86_64 ] || [ "$(uname -m)" = aarch64 ] || die "unsupported host $(uname -m)"

# Tools, from apt when missing.
need=""
command -v debootstrap >/dev/null || need="$need debootstrap"
[ -e /usr/bin/qemu-aarch64-static ] || need="$need qemu-user-static"
command -v update-binfmts >/dev/null || need="$need binfmt-support"
if [ -n "$need" ]; then
  say "installing$need (apt)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
# binfmt_misc: mounted, with qemu-aarch64 registered (F: the interpreter is opened now, so
# it works inside the chroot without a copy there).
if [ "$(uname -m)" = x86_64 ]; then
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null \
    || die "the kernel refuses binfmt_misc (mount -t binfmt_misc failed): no arm64 emulation here"
  update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null \
    || die "qemu-aarch64 is not registered with binfmt_misc"
fi

# The root: Debian Bookworm arm64 with Python 3.11 (what 64-bit Raspberry Pi OS has).
if [ ! -e "$CACHE/.root-complete" ]; then
  say "building the arm64 Bookworm root in $ROOT (first run: several minutes)"
  rm -rf "$ROOT" && mkdir -p "$ROOT"
  debootstrap --arch=arm64 --variant=minbase \
    --include=python3,python3-venv,python3-pip,ca-certificates,curl \
    bookworm "$ROOT" "$MIRROR" >"$CACHE.debootstrap.log" 2>&1 \
    || { tail -n 20 "$CACHE.debootstrap.log"; die "debootstrap failed (log: $CACHE.debootstrap.log)"; }
  touch "$CACHE/.root-complete"
fi
mounted=()
cleanup() {
  for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
# /proc and /dev from the host, but not /sys: its CPU pages describe the x86 host, and
# LiteRT's cpuinfo, reading them under emulation, picks kernels that crash (segfault in
# allocate_tensors, seen with qemu 7.2). The root gets a plain CPU list instead, as many
# CPUs as the process may use, which is all cpuinfo needs.
for fs in proc dev; do
  if ! mountpoint -q "$ROOT/$fs"; then
    mount --bind "/$fs" "$ROOT/$fs" && mounted+=("$ROOT/$fs")
  fi
done
mountpoint -q "$ROOT/sys" && umount -l "$ROOT/sys"
mkdir -p "$ROOT/sys/devices/system/cpu"
for f in possible present online; do echo "0-$(($(nproc) - 1))" >"$ROOT/sys/devices/system/cpu/$f"; done
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# The host's CA bundle too: a network whose HTTPS goes through an inspecting proxy has its
# own CA there, which the root's Debian bundle lacks (pip would fail certificate checks).
cabundle=/etc/ssl/certs/ca-certificates.crt
if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then cabundle=$PIP_CERT; fi
cp "$cabundle" "$ROOT/etc/ssl/certs/host-ca-bundle.crt"
exec_in_root() {  # exec_in_root CPU COMMAND...: become COMMAND in the arm64 root, emulating CPU
  local cpu=$1; shift
  exec chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/venv/bin:/usr/bin:/bin LANG=C.UTF-8 \
    QEMU_CPU="$cpu" EDGE_RUNTIME_DATA=/data PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_CERT=/etc/ssl/certs/host-ca-bundle.crt SSL_CERT_FILE=/etc/ssl/certs/host-ca-bundle.crt \
    "$@"
}
in_root() { (exec_in_root "$@"); }  # in_root CPU COMMAND...: run it there and come back

# The working tree, copied in (what git would commit, plus untracked files it does not
# ignore), and installed as the README says for a Pi.
rm -rf "$ROOT/src" && mkdir -p "$ROOT/src"
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$ROOT/src"
first_cpu=${CPUS%% *}
[ -x "$ROOT/venv/bin/python" ] || in_root "$first_cpu" python3 -m venv /venv
check "install: pip install -e . in a Bookworm venv (Python $(in_root "$first_cpu" python3 -c 'import sys; print(sys.version.split()[0])'))" \
  in_root "$first_cpu" sh -c "cd /src && /venv/bin/pip install -q -e ."
[ "$FAILED" = 0 ] || { say "the install failed: nothing else can be checked"; exit 1; }

# The data: the full CamVid val split (every 4th frame, for time) when it is there, else
# the committed samples; x86's masks of the same frames, from this machine's venv.
DATA=${EDGE_RUNTIME_DATA:-}
[ -n "$DATA" ] || { [ -d ../shared/data/camvid/val ] && DATA=$(cd ../shared/data && pwd) || DATA=$REPO/samples; }
rm -rf "$ROOT/data" && mkdir -p "$ROOT/data/val" "$ROOT/data/valannot"
i=0
for f in $(ls "$DATA/camvid/val" | sort); do
  if [ -d ../shared/data/camvid/val ] && [ "$DATA" != "$REPO/samples" ]; then
    [ $((i % 4)) = 0 ] || { i=$((i + 1)); continue; }
  fi
  cp "$DATA/camvid/val/$f" "$ROOT/data/val/" && cp "$DATA/camvid/valannot/$f" "$ROOT/data/valannot/"
  i=$((i + 1))
done
frames=$(ls "$ROOT/data/val" | wc -l)
say "frames: $frames CamVid val frames from $DATA"
HOSTPY=${PYTHON_X86:-$REPO/.venv/bin/python}
if [ ! -x "$HOSTPY" ]; then
  python3 -m venv "$REPO/.venv" && "$REPO/.venv/bin/pip" install -q -e "$REPO"
fi
"$HOSTPY" -m edge_runtime.cli.main segment "$ROOT/data/val" --format mask --out "$WORK/x86" >/dev/null

for cpu in $CPUS; do
  check "$cpu doctor" in_root "$cpu" edge-runtime doctor
  check "$cpu inspect (default model)" in_root "$cpu" sh -c \
    "edge-runtime inspect /src/edge_runtime/default_model/unet_mnv2_camvid_int8.tflite | grep -q 'Edge TPU: all'"
  rm -rf "$ROOT/tmp/masks"
  check "$cpu segment $frames frames" in_root "$cpu" edge-runtime segment /data/val --format mask --out /tmp/masks
  "$HOSTPY" scripts/arm64_compare.py "$WORK/x86" "$ROOT/tmp/masks" --truth "$ROOT/data/valannot" \
    --label "$cpu" || FAILED=1
done

# The daemon, on loopback inside the root: ready, an upload, a replayed folder, SIGTERM.
daemon_check() {
  local log=$ROOT/tmp/daemon.log url="" pid body ok=1
  rm -f "$log"
  # exec: $! is then the daemon itself (chroot and env exec too), not a shell around it.
  (exec_in_root "$first_cpu" edge-runtime serve --port 0 --source /src/samples/camvid/val \
    --source-fps 2) >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do grep -q '^open http' "$log" && break; sleep 1; done
  url=$(sed -n 's#^open \(http://[^/ ]*\)/.*#\1#p' "$log" | head -1)
  if [ -n "$url" ]; then
    for _ in $(seq 600); do curl -sf "$url/readyz" >/dev/null && break; sleep 1; done
    body=$(curl -sf -F image=@"$REPO/samples/camvid/val/0016E5_07959.png" "$url/v1/segment" || true)
    case $body in *'"Road"'*) ;; *) echo "upload: $body"; ok=0 ;; esac
    for _ in $(seq 300); do
      body=$(curl -sf "$url/readyz" || true)
      case $body in *'"processed":'[1-9]*) break ;; esac
      sleep 1
    done
    case $body in *'"status":"ready"'*'"processed":'[1-9]*) ;; *) echo "readyz: $body"; ok=0 ;; esac
  else
    ok=0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait "$pid"; then echo "the daemon did not exit 0 on SIGTERM"; ok=0; fi
  [ "$ok" = 1 ] || { tail -n 20 "$log"; return 1; }
}
check "$first_cpu daemon: /readyz 200, an upload, replayed frames, SIGTERM exit 0" daemon_check

# The fallback import: tflite-runtime alone (LiteRT hidden), in a venv of its own.
fallback_check() {
  in_root "$first_cpu" sh -c '
    [ -x /venv-tfl/bin/python ] || python3 -m venv /venv-tfl
    /venv-tfl/bin/pip install -q "numpy<2" tflite-runtime Pillow pydantic pydantic-settings PyYAML rich >/dev/null
    cd /src && /venv-tfl/bin/python - <<EOF
import sys
sys.modules["ai_edge_litert"] = None  # as on a board with tflite-runtime only
from edge_runtime import litert
assert litert.RUNTIME == "tflite-runtime", litert.RUNTIME
from edge_runtime.pipeline import Pipeline
seg = Pipeline.open("edge_runtime/default_model/unet_mnv2_camvid_int8.tflite").segment(
    open("samples/camvid/val/0016E5_07959.png", "rb").read())
names = [c.name for c in seg.classes()[:3]]
assert "Road" in names, names
print("tflite-runtime", litert.runtime_version(), names)
EOF'
}
check "$first_cpu fallback: segments with tflite-runtime when LiteRT is absent" fallback_check

# With --models: every shipped INT8 bundle on the same frames (a Pi 4 CPU), its arm64 masks
# against x86's and both scored, into the model card's table (bench/results/arm64-emulated/).
if [ "${1:-}" = --models ]; then
  report=$REPO/bench/results/arm64-emulated/accuracy.md
  mkdir -p "$(dirname "$report")"
  {
    echo "# Accuracy through LiteRT's arm64 kernels (emulated Cortex-A72) next to x86's"
    echo
    echo "Every shipped INT8 bundle on $frames CamVid val frames (every 4th; the COCO models on"
    echo "their sample photos, agreement only): arm64 masks from an emulated Debian Bookworm arm64"
    echo "root (\`bash scripts/arm64-check.sh --models\`), x86 masks from this machine"
    echo "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)). Emulation times nothing:"
    echo "latency on a board comes from \`edge-bench\` run there (bench/results/<board>/)."
    echo
    echo "| model | frames | pixel agreement, mean | worst frame | x86 mIoU | arm64 mIoU |"
    echo "|---|---|---|---|---|---|"
  } >"$report"
  for bundle in "$REPO"/edge_runtime/default_model/*_int8.tflite "$REPO"/models/*_int8.tflite; do
    name=$(basename "$bundle" .tflite)
    rel=${bundle#"$REPO"/}
    images=$ROOT/data/val; truth=(--truth "$ROOT/data/valannot")
    if [[ $name == *coco* ]]; then images=$ROOT/src/samples/coco/val2017; truth=(); fi
    [[ $name == unet_mnv2_camvid_teacher* ]] && continue
    # shipped bundles only: an ignored one (a train-only run's export) is not copied in
    git check-ignore -q "$rel" && continue
    rm -rf "$WORK/x86m" "$ROOT/tmp/m"
    "$HOSTPY" -m edge_runtime.cli.main segment "$images" --model "$bundle" --format mask --out "$WORK/x86m" >/dev/null
    in_root "$first_cpu" edge-runtime segment "${images#"$ROOT"}" --model "/src/$rel" --format mask --out /tmp/m >/dev/null
    "$HOSTPY" scripts/arm64_compare.py "$WORK/x86m" "$ROOT/tmp/m" "${truth[@]}" --label "$name" \
      --row "$report" || FAILED=1
  done
  say "wrote $report"
fi

if [ "$FAILED" = 0 ]; then say "all checks passed"; else say "some checks failed"; fi
exit "$FAILED"
