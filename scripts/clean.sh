#!/usr/bin/env bash
# make clean: removes build output. Keeps .data/ (your local data: delete it yourself
# when make run is stopped), the pinned tools in bin/ and node_modules.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

rm -f bin/ecabinet
# The web build output, except the committed .gitkeep that go:embed needs.
find gateway/web/dist -mindepth 1 ! -name .gitkeep -exec rm -rf {} + 2>/dev/null || true
rm -rf e2e/browser/artifacts
say "removed bin/ecabinet, gateway/web/dist build output and e2e/browser/artifacts"
