# Sourced by build.sh: pinned locks, the wheelhouse, and wheels of our own distributions.
# Locks (hack/images/locks/*.txt) pin every transitive dependency; `uv pip compile` keeps the
# pins already in a lock and only adds or changes what a pyproject now asks for.
# shellcheck shell=bash
UV="$CACHE/tools/uv-$UV_VERSION/bin/uv"
WHEELHOUSE="$IMG_CACHE/wheelhouse"
LOCKS="$ROOT/hack/images/locks"

# lock NAME SOURCE [EXTRA...]: write locks/NAME.txt for a pyproject (or requirements.in) and extras.
lock() {
  local name=$1 src=$2 extra args=()
  shift 2
  for extra in "$@"; do args+=(--extra "$extra"); done
  [ -x "$UV" ] || bash "$ROOT/hack/venv.sh" >/dev/null
  mkdir -p "$LOCKS"
  UV_CACHE_DIR="$CACHE/uv" "$UV" pip compile -q --no-header --no-annotate --python-version 3.11 \
    --python-platform x86_64-unknown-linux-gnu "${args[@]}" -o "$LOCKS/$name.txt" "$ROOT/$src"
}

# download LOCKFILE: make sure every pinned wheel is in the wheelhouse (binary wheels only).
download() {
  local lockfile=$1 stamp
  stamp="$WHEELHOUSE/.done-$(hash_files "$lockfile")"
  [ -f "$stamp" ] && return 0
  mkdir -p "$WHEELHOUSE"
  [ -x "$UV" ] || bash "$ROOT/hack/venv.sh" >/dev/null
  (
    # one download at a time: `make images` and hack/tensorflow-venv.sh share the wheelhouse
    flock -w 3600 8 || die "another download holds $WHEELHOUSE/.lock"
    [ -f "$stamp" ] && exit 0
    log "pip download $(basename "$lockfile") into the wheelhouse"
    # pip of uv's own venv (make puts .venv first in PATH, and .venv has no pip); PIP_FIND_LINKS
    # may point at a local wheel dir: the wheelhouse takes only what the index serves
    env -u PIP_FIND_LINKS "$(dirname "$UV")/python" -m pip download -q --only-binary=:all: --no-deps \
      --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
      --platform manylinux_2_36_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
      -d "$WHEELHOUSE" -r "$lockfile"
    touch "$stamp"
  ) 8>"$WHEELHOUSE/.lock"
}

# wheel_paths LOCKFILE: the wheelhouse file of every pin in a lock, one a line.
wheel_paths() {
  python3 - "$1" "$WHEELHOUSE" <<'PY'
import pathlib, re, sys
lock, house = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
def norm(s: str) -> str:
    return re.sub(r"[-_.]+", "_", s).lower()
files = {}
for w in house.glob("*.whl"):
    name, version = w.name.split("-")[:2]
    files.setdefault((norm(name), version), []).append(w)
for line in lock.read_text().splitlines():
    line = line.split("#")[0].split(";")[0].strip()
    if not line:
        continue
    name, version = line.split("==")
    found = files.get((norm(name.split("[")[0]), version))
    if not found:
        sys.exit(f"no wheel for {line} in {house}")
    print(*found, sep="\n")
PY
}

# own_wheel DIR: build a wheel of one of our distributions (server/, controller/), cached by
# its sources; prints the wheel's path.
own_wheel() {
  local dir=$1 key out
  key=$(hash_files "$ROOT/$dir/pyproject.toml" "$ROOT/$dir/src")
  out="$IMG_CACHE/own-wheels/$dir-$key"
  if ! ls "$out"/*.whl >/dev/null 2>&1; then
    [ -x "$UV" ] || bash "$ROOT/hack/venv.sh" >/dev/null
    rm -rf "$out" && mkdir -p "$out"
    local tmp
    tmp=$(mktemp -d)
    cp -r "$ROOT/$dir/pyproject.toml" "$ROOT/$dir/src" "$tmp/"
    find "$tmp" \( -name '*.egg-info' -o -name __pycache__ \) -prune -exec rm -rf {} +
    UV_CACHE_DIR="$CACHE/uv" "$UV" build -q --wheel --out-dir "$out" "$tmp" >&2
    rm -rf "$tmp"
  fi
  ls "$out"/*.whl
}
