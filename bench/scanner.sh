#!/usr/bin/env bash
# The 错敏词 scanner's throughput on one core: generated government-post text scanned with a
# lexicon of PATTERNS generated wordings (plus the starter lexicon) and every fold on, beside
# the raw aho-corasick crate (overlapping search, the same wordings, the same text, unfolded) and
# the fold alone, best of ROUNDS (crates/scanner/benches/scan.rs). No services are needed.
#
#   bash bench/scanner.sh
#   PATTERNS=50000 TEXT_MB=32 ROUNDS=5 bash bench/scanner.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PATTERNS=${PATTERNS:-50000}
TEXT_MB=${TEXT_MB:-32}
ROUNDS=${ROUNDS:-5}
cargo bench --locked -q -p govmedia-scanner --bench scan -- "$PATTERNS" "$TEXT_MB" "$ROUNDS"
