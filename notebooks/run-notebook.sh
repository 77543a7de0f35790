#!/usr/bin/env bash
# Executes notebooks/analysis.ipynb headless against a run and a sweep it has
# just produced, as CI does. Builds nothing: give it a built binary.
#
#   notebooks/run-notebook.sh [BINARY] [OUT_DIR]
#
# BINARY defaults to target/release/multiactive, OUT_DIR to target/notebook.
# Writes OUT_DIR/run/ (the default scenario, seed 1), OUT_DIR/sweep/ (switch vs
# ban_then_switch × async vs quorum, seeds 1..3, 40 s) and the executed copy
# OUT_DIR/analysis.ipynb. Exits non-zero if the binary or any cell fails.
#
# Python: $PYTHON if set (an interpreter that has the packages of
# notebooks/requirements.txt). Otherwise the script uses its own virtual
# environment, $MULTIACTIVE_VENV (default target/notebook-venv), creating it
# with `python3 -m venv` and installing notebooks/requirements.txt into it
# when missing or when the requirements changed: this works on a system
# Python that refuses global installs (PEP 668).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$root/target/release/multiactive}"
out="${2:-$root/target/notebook}"
requirements="$root/notebooks/requirements.txt"

if [[ -n "${PYTHON:-}" ]]; then
    python="$PYTHON"
else
    venv="${MULTIACTIVE_VENV:-$root/target/notebook-venv}"
    stamp="$venv/.requirements.txt"
    if [[ ! -x "$venv/bin/python" ]]; then
        python3 -m venv "$venv" || {
            echo "$0: python3 -m venv failed (Debian/Ubuntu: apt install python3-venv)" >&2
            exit 2
        }
    fi
    if ! cmp -s "$requirements" "$stamp"; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
        cp "$requirements" "$stamp"
    fi
    python="$venv/bin/python"
fi

if [[ ! -x "$bin" ]]; then
    echo "$0: $bin: not an executable (build it first: cargo build --release)" >&2
    exit 2
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"
# A sweep folder is resumable: start from empty so the results are this binary's.
rm -rf "$out/run" "$out/sweep" "$out/analysis.ipynb"

start=$SECONDS
"$bin" run --out "$out/run"
"$bin" sweep default \
    --vary failover.procedure=switch,ban_then_switch \
    --vary replication.mode=async,quorum \
    --seeds 1..3 \
    --set simulation.duration=40s --set fault.0.at=10s --set fault.0.for=20s \
    --out "$out/sweep"
simulated=$SECONDS

MULTIACTIVE_RUN="$out/run" MULTIACTIVE_SWEEP="$out/sweep" \
    "$python" -m nbconvert --to notebook --execute \
    --ExecutePreprocessor.timeout=600 \
    --output-dir "$out" --output analysis.ipynb \
    "$root/notebooks/analysis.ipynb"

echo "notebook: simulations $((simulated - start)) s, notebook $((SECONDS - simulated)) s; executed copy: $out/analysis.ipynb"
