# Sourced by hack/images/*.sh and hack/cluster/*.sh: paths, names and small helpers shared by both.
# Everything lives outside the clone, keyed by inputs, so a clean clone rebuilds it all itself.
# shellcheck shell=bash
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../versions.env
source "$ROOT/hack/versions.env"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/kserve-py"
IMG_CACHE="$CACHE/images"
RUN_DIR="${KSERVE_PY_RUN_DIR:-/run/kserve-py}"   # pid files and sockets of our daemons (never shared)
DOCKER_SOCK="$RUN_DIR/docker.sock"
DOCKER_BIN=/usr/bin/docker      # Debian's CLI: BuildKit works with it (the newer one in PATH lacks buildx)
REGISTRY_ADDR="127.0.0.1:5000"
REGISTRY_NAME="registry.kserve-py.test"   # the name charts use; containerd maps it to REGISTRY_ADDR
IMAGE_REPO="kserve-py"

log() { echo "[${LOG_TAG:-images}] $*" >&2; }
die() { echo "[${LOG_TAG:-images}] ERROR: $*" >&2; exit 1; }

# apt_need PKG...: install the Debian packages that are missing (CI starts on a fresh machine).
apt_need() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
}

# spawn_daemon LOGFILE CMD...: start CMD in the background with only stdin/stdout/stderr open,
# so a daemon never inherits a caller's lock (e.g. `flock FILE make images`) and holds it forever.
spawn_daemon() {
  local out=$1
  shift
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      [ "$fd" -gt 2 ] && { eval "exec $fd>&-"; } 2>/dev/null
    done
    exec nohup "$@" </dev/null >"$out" 2>&1
  ) &
}

# dk ARGS...: the Docker CLI talking to our own daemon only.
dk() { DOCKER_BUILDKIT=1 "$DOCKER_BIN" -H "unix://$DOCKER_SOCK" "$@"; }

# hash_files FILE_OR_DIR...: one sha256 over the content and relative names of the inputs.
hash_files() {
  local f
  for f in "$@"; do
    if [ -d "$f" ]; then
      (cd "$f" && find . -type f ! -name '*.pyc' ! -path '*/__pycache__/*' ! -path '*.egg-info/*' -print0 \
        | LC_ALL=C sort -z | xargs -0 sha256sum)
    else
      echo "$(sha256sum <"$f" | cut -c1-64)  $(basename "$f")"
    fi
  done | sha256sum | cut -c1-16
}

# pid_alive FILE: true if FILE holds the pid of a running process.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pid FILE [SECONDS]: TERM the process in FILE, KILL it after SECONDS, remove FILE.
stop_pid() {
  local file=$1 wait=${2:-10} pid i
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < wait * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}
