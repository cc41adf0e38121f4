#!/usr/bin/env bash
# make compose-check: validates docker-compose.yml and deploy/ without a container
# engine (none runs on our machines):
#   spec   compose-go (the loader `docker compose` uses) reads the file against the
#          Compose Specification: schema, interpolation, references between services;
#   go     e2e/compose_test.go checks what matters to ecabinet (targets, health,
#          environment, secrets, the Dockerfiles).
#
#   scripts/compose-check.sh [spec|go]     both when no argument is given
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/tools.sh
source "$ROOT/scripts/tools.sh"

validate_spec() {
	ensure_tool compose-spec
	say "compose-spec docker-compose.yml"
	# -no-interpolation: the ${VAR:?} secrets stay unresolved (this validator's model
	# loader ignores the environment); their form is checked by the Go test instead.
	"$ROOT/bin/compose-spec" -no-interpolation docker-compose.yml >/dev/null
}

go_check() {
	say "e2e/compose_test.go"
	(cd e2e && go test -count=1 -run 'Compose' .)
}

case "${1:-all}" in
spec) validate_spec ;;
go) go_check ;;
all)
	validate_spec
	go_check
	;;
*) die "usage: scripts/compose-check.sh [spec|go]" ;;
esac
