#!/usr/bin/env bash
# make bench: the benchmarks in e2e/bench against real dependencies.
#
# Each benchmark prints its figures next to a baseline measured in the same run
# (DESIGN.md: performance is measured here, never asserted in tests).
# -benchtime=1x: one iteration each; a benchmark repeats what it measures itself.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/deps.sh
source "$ROOT/scripts/deps.sh"
# shellcheck source=scripts/build.sh
source "$ROOT/scripts/build.sh"

bench_main() {
	[[ -d e2e/bench ]] || die "e2e/bench does not exist yet: no benchmarks to run"
	if command -v npm >/dev/null; then
		build_web # measure the binary as shipped, web app included
	else
		warn "npm not found: benchmarking a binary that embeds the placeholder page"
	fi
	build_binary

	trap deps_stop EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	deps_up bench
	export ECABINET_BIN="$ROOT/bin/ecabinet"

	(cd e2e && go test -count=1 -run '^$' -bench . -benchtime=1x ./bench/...)
}

bench_main "$@"
