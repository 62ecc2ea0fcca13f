#!/usr/bin/env bash
# Create or update medvlp's virtual environment. Safe to run again: it does nothing when the
# environment already matches the requirement files.
#
# Environment variables:
#   MEDVLP_VENV     where the virtualenv lives (default: <repo>/.venv)
#   PYTHON          interpreter used to create it (default: python3, must be 3.11 for the
#                   prebuilt mmcv wheel; other versions build mmcv from source)
#   MEDVLP_CACHE    cache folder; mmcv wheels built from source are kept in $MEDVLP_CACHE/wheels
#                   (default: ~/.cache/medvlp) so the ~35 minute build happens once per machine
#   PIP_FIND_LINKS  extra folders pip searches for wheels, e.g. one holding a prebuilt
#                   mmcv-2.1.0 wheel for torch 2.14.1
#
# Usage: bash tools/setup_env.sh [--check]
#   --check   only report whether the environment is up to date (exit 0) or not (exit 1)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MEDVLP_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
CACHE=${MEDVLP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/medvlp}
WHEELS=$CACHE/wheels
MMCV_VERSION=2.1.0
STAMP=$VENV/.medvlp-env-stamp

log() { printf '[setup_env] %s\n' "$*"; }

# Everything that decides the environment's content goes into the stamp.
stamp_of() {
    cat "$ROOT"/requirements/*.txt "$ROOT/setup.py" "$ROOT/setup.cfg" "${BASH_SOURCE[0]}" \
        | sha256sum | cut -d' ' -f1
}

env_works() {
    "$VENV/bin/python" -c 'import medvlp, mmcv.ops, mmseg.models, mmpretrain.models' \
        >/dev/null 2>&1
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_of)" ] && env_works; then
    log "environment $VENV is up to date"
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    log "environment $VENV is missing or out of date; run: bash tools/setup_env.sh"
    exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtualenv $VENV with $($PYTHON --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip)
"${PIP[@]}" install --quiet --upgrade pip wheel ninja

log "installing torch and torchvision (pinned in requirements/runtime.txt)"
"${PIP[@]}" install --quiet $(grep -E '^(torch|torchvision)==' "$ROOT/requirements/runtime.txt")

# True when mmcv $MMCV_VERSION with its compiled extension is installed. It only looks at files:
# importing mmcv needs mmengine, which is installed later with the other requirements.
mmcv_ok() {
    "$VENV/bin/python" - "$MMCV_VERSION" >/dev/null 2>&1 <<'PY'
import glob, importlib.metadata, importlib.util, os, sys
assert importlib.metadata.version('mmcv') == sys.argv[1]
pkg_dir = os.path.dirname(importlib.util.find_spec('mmcv').origin)
assert glob.glob(os.path.join(pkg_dir, '_ext*.so'))
PY
}

# pip's --find-links on the command line replaces PIP_FIND_LINKS, so both are passed here.
FIND_LINKS=(--find-links "$WHEELS")
for link in ${PIP_FIND_LINKS:-}; do FIND_LINKS+=(--find-links "$link"); done

build_mmcv_from_source() {
    # mmcv 2.1.0 publishes only an sdist on PyPI. Its setup.py asks for -std=c++14/17, but the
    # headers of torch >= 2.13 need C++20, so the flags are rewritten before building.
    local src
    src=$(mktemp -d)
    # mmcv's setup.py imports pkg_resources, which setuptools 70 and newer no longer ship.
    "${PIP[@]}" install --quiet 'setuptools<70'

    log "no mmcv-$MMCV_VERSION wheel found: building it from source with compiled ops"
    log "this takes about 35 minutes on 2 cores and is done once; the wheel is cached in $WHEELS"
    "${PIP[@]}" download --quiet --no-deps --no-binary=mmcv --no-build-isolation \
        "mmcv==$MMCV_VERSION" -d "$src"
    tar -xzf "$src"/mmcv-"$MMCV_VERSION".tar.gz -C "$src"
    sed -i -E 's/-std=c\+\+1[47]/-std=c++20/g' "$src/mmcv-$MMCV_VERSION/setup.py"
    mkdir -p "$WHEELS"
    (cd "$src/mmcv-$MMCV_VERSION" &&
        MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "${PIP[@]}" wheel --no-build-isolation --no-deps -w "$WHEELS" .)
    rm -rf "$src"
}

if mmcv_ok; then
    log "mmcv $MMCV_VERSION with ops already installed"
else
    # A prebuilt wheel from PIP_FIND_LINKS or from the local cache; never an sdist here.
    if "${PIP[@]}" install --quiet --no-deps --only-binary=mmcv "${FIND_LINKS[@]}" \
        "mmcv==$MMCV_VERSION" 2>/dev/null && mmcv_ok; then
        log "installed mmcv $MMCV_VERSION from a prebuilt wheel"
    else
        build_mmcv_from_source
        "${PIP[@]}" install --quiet --no-deps --force-reinstall --find-links "$WHEELS" \
            --only-binary=mmcv "mmcv==$MMCV_VERSION"
        mmcv_ok || { log "ERROR: mmcv $MMCV_VERSION was built but its compiled ops are missing"; exit 1; }
        # torch 2.14 declares setuptools>=77; the old one was only needed for the build.
        "${PIP[@]}" install --quiet 'setuptools>=77'
    fi
fi

log "installing medvlp and its requirements"
"${PIP[@]}" install --quiet -r "$ROOT/requirements.txt"
"${PIP[@]}" install --quiet --no-deps --no-build-isolation -e "$ROOT"

if ! env_works; then
    log "ERROR: the environment was installed but 'import medvlp, mmcv.ops, mmseg.models," \
        "mmpretrain.models' fails:"
    "$VENV/bin/python" -c 'import medvlp, mmcv.ops, mmseg.models, mmpretrain.models'
    exit 1
fi
stamp_of >"$STAMP"
log "environment ready: $VENV"
