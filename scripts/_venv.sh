# shellcheck shell=bash
# Sourced by the Quick start scripts: make (or reuse) .venv and install the kiosk into it.
# Usage: . scripts/_venv.sh [EXTRA]   e.g. EXTRA=dev for the test tools.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${KIOSK_VENV:-$root/.venv}"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "The kiosk needs Python 3.11 or newer; $python is $("$python" --version 2>&1)." >&2
    exit 2
fi
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
stamp="$venv/.installed-${1:-base}"
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    if [ -n "${1:-}" ]; then
        "$venv/bin/python" -m pip install --quiet -e "${root}[$1]"
    else
        "$venv/bin/python" -m pip install --quiet -e "$root"
    fi
    touch "$stamp"
fi
export PATH="$venv/bin:$PATH"
