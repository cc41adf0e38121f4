#!/usr/bin/env bash
# Generated code from proto/ (Go, gRPC, grpc-gateway, OpenAPI) into proto/gen.
#
#   scripts/proto.sh generate   regenerate with the pinned plugins in ./bin
#   scripts/proto.sh check      regenerate, then fail if proto/gen differs from git
#                               (the generated code is committed and must match)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/tools.sh
source "$ROOT/scripts/tools.sh"

generate() {
	tools_main proto
	# Delete only generated files first, so a removed .proto leaves nothing behind;
	# proto/gen also holds hand-written Go (e.g. gen/openapi/openapi.go) that stays.
	find proto/gen -type f \( -name '*.pb.go' -o -name '*.pb.gw.go' -o -name '*.swagger.json' \) -delete
	say "buf generate (proto -> proto/gen)"
	(cd proto && PATH="$ROOT/bin:$PATH" buf generate)
}

# check: the tree under proto/gen equals what git has (index), with no new files.
check() {
	generate
	local changed untracked
	mapfile -t changed < <(git diff --name-only -- proto/gen)
	mapfile -t untracked < <(git ls-files --others --exclude-standard -- proto/gen)
	if ((${#changed[@]} == 0 && ${#untracked[@]} == 0)); then
		say "generated code is up to date"
		return 0
	fi
	{
		echo "generated code in proto/gen is out of date with proto/:"
		((${#changed[@]} == 0)) || printf '  changed:   %s\n' "${changed[@]}"
		((${#untracked[@]} == 0)) || printf '  new:       %s\n' "${untracked[@]}"
		git --no-pager diff --stat -- proto/gen
		echo "run \`make proto\` and commit proto/gen together with the .proto change."
	} >&2
	return 1
}

case "${1:-}" in
generate) generate ;;
check) check ;;
*) die "usage: scripts/proto.sh generate|check" ;;
esac
