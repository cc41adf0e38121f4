#!/usr/bin/env bash
# make lint: buf lint, buf breaking against main, gofmt, go vet in every module.
# Runs every check, then fails if any failed (one run shows every problem).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/tools.sh
source "$ROOT/scripts/tools.sh"

FAILED=()

buf_lint() {
	(cd proto && "$ROOT/bin/buf" lint)
}

# buf_breaking: compare proto/ with the main branch. Skipped (with a note) when
# there is no local main or main has no proto module yet (the first commit).
buf_breaking() {
	if ! git rev-parse --verify -q main >/dev/null; then
		say "buf breaking: skipped, no local branch main to compare with"
		return 0
	fi
	if ! git cat-file -e main:proto/buf.yaml 2>/dev/null; then
		say "buf breaking: skipped, main has no proto module yet"
		return 0
	fi
	# The common dir, not .git: in a linked worktree .git is a file.
	local gitdir
	gitdir="$(cd "$(git rev-parse --git-common-dir)" && pwd)"
	(cd proto && "$ROOT/bin/buf" breaking --against "$gitdir#branch=main,subdir=proto")
}

# gofmt_check: gofmt -l over our Go files; generated code and
# dependencies (node_modules) are not ours to format.
gofmt_check() {
	local out
	out="$(find . \( -path ./proto/gen -o -path ./.data -o -path ./bin -o -name node_modules -o -name .git \) -prune \
		-o -name '*.go' -print0 | xargs -0 -r gofmt -l)" || return 1 # gofmt printed why (e.g. a syntax error)
	if [[ -n "$out" ]]; then
		echo "gofmt would change these files (run gofmt -w):" >&2
		echo "$out" >&2
		return 1
	fi
}

go_vet_all() {
	local dir modules rc=0
	modules="$(go_modules)" || return 1
	while read -r dir; do
		(cd "$dir" && go vet ./...) || {
			echo "go vet failed in ${dir#"$ROOT"/}" >&2
			rc=1
		}
	done <<<"$modules"
	return "$rc"
}

run_check() {
	local name=$1
	shift
	say "$name"
	"$@" || FAILED+=("$name")
}

lint_main() {
	tools_main proto
	run_check "buf lint" buf_lint
	run_check "buf breaking (against main)" buf_breaking
	run_check "gofmt" gofmt_check
	run_check "go vet" go_vet_all
	if ((${#FAILED[@]} > 0)); then
		local IFS=,
		printf 'lint FAILED: %s\n' "${FAILED[*]}" >&2
		return 1
	fi
	say "lint ok"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	lint_main "$@"
fi
