#!/usr/bin/env bash
# A multiactive sweep spread over a Slurm array job: each array task runs a
# deterministic 1/N of the runs into its own part folder on shared storage;
# a dependent job merges the parts into the folder one machine would write.
#
#   sbatch --array=0-15 examples/cluster/slurm-sweep.sh          # the parts
#   sbatch --dependency=afterok:<array job id> --wrap \
#     'multiactive merge sweep-parts/part-* --out sweep-merged'  # the whole
#
# Re-submitting a failed task resumes it: finished runs are kept and skipped.
# SCENARIO picks the scenario, SEEDS the seeds, SWEEP_ARGS adds flags (e.g. "--set
# simulation.duration=5m"), MULTIACTIVE_BIN the binary, PARTS the folder.
#SBATCH --job-name=multiactive-sweep
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --time=02:00:00
#SBATCH --output=sweep-parts/slurm-%A_%a.out
set -euo pipefail

N=${SLURM_ARRAY_TASK_COUNT:?run as an array job: sbatch --array=0-15 ...}
I=${SLURM_ARRAY_TASK_ID:?}
BIN=${MULTIACTIVE_BIN:-multiactive}
PARTS=${PARTS:-sweep-parts}
mkdir -p "$PARTS"

# shellcheck disable=SC2086 # SWEEP_ARGS is a list of flags
"$BIN" sweep "${SCENARIO:-eleme}" \
  --vary failover.fence=shard,record \
  --vary replication.mode=async,semi_sync,quorum \
  --seeds "${SEEDS:-1..20}" \
  --jobs "${SLURM_CPUS_PER_TASK:-1}" \
  --shard "$I/$N" \
  --out "$PARTS/part-$I" \
  ${SWEEP_ARGS:-}
