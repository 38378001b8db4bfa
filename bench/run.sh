#!/usr/bin/env bash
# Flowstore's benchmarks: bench/run.sh [--files N] [--reps K] [--profile] ... (see bench/README.md, or --help).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec dotnet run -c Release --project bench/Flowstore.Bench -- "$@"
