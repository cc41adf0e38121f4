#!/usr/bin/env bash
# make test: the one test command (CI runs it through .ci/run).
#
# Installs what the tests need (pinned Go tools, Chromium, npm packages), finds or
# starts PostgreSQL/NATS/MinIO (scripts/deps.sh), checks the generated code, vets
# every module, builds bin/ecabinet, then runs `go test -race` in every module of
# go.work (the e2e module includes the compose check, the browser tests and the
# black-box suite). It keeps going after a failure and ends with one line per step
# and module, so the last screen says what passed.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/deps.sh
source "$ROOT/scripts/deps.sh"
# shellcheck source=scripts/build.sh
source "$ROOT/scripts/build.sh"

RESULTS=() # "ok|FAIL  name  (seconds)" lines for the summary
FAILURES=0

# step NAME CMD...: run one step, record its result, never abort the run.
step() {
	local name=$1 start rc=0
	shift
	say "$name"
	start=$SECONDS
	"$@" || rc=$?
	if ((rc == 0)); then
		RESULTS+=("$(printf 'ok    %-28s %4ds' "$name" $((SECONDS - start)))")
	else
		RESULTS+=("$(printf 'FAIL  %-28s %4ds' "$name" $((SECONDS - start)))")
		FAILURES=$((FAILURES + 1))
	fi
}

# install_system_packages: Debian packages the tests need, installed only when
# missing (apt-get; as root, else through sudo): Chromium for the browser tests,
# DejaVu fonts for the minutes PDF,
# a C compiler for go test -race (the race detector needs cgo).
install_system_packages() {
	local missing=() sudo=()
	[[ -x /usr/bin/chromium ]] || missing+=(chromium)
	# The minutes PDF needs a font with Vietnamese glyphs.
	[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)
	command -v "$(go env CC)" >/dev/null || missing+=(gcc libc6-dev)
	((${#missing[@]} > 0)) || return 0
	if ((EUID != 0)); then
		command -v sudo >/dev/null ||
			die "not root and no sudo; install these first: apt-get install ${missing[*]}"
		sudo=(sudo)
	fi
	say "installing ${missing[*]} (apt-get)"
	"${sudo[@]}" apt-get update
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}

go_vet_module() {
	(cd "$1" && go vet ./...)
}

# go_test_module DIR: go test with the output also kept in .data/test-logs, so the
# summary can repeat the failing packages' lines at the end.
go_test_module() {
	local log
	log="$LOG_DIR/$(module_name "$1" | tr / _).log"
	(cd "$1" && go test -race -count=1 ./... 2>&1) | tee "$log"
}

module_name() {
	local name=${1#"$ROOT"}
	name=${name#/}
	echo "${name:-.}"
}

print_summary() {
	local line
	echo
	echo "==================== make test summary ===================="
	if ((FAILURES > 0)); then
		# The test runners' own verdicts for what failed, so nobody scrolls back.
		grep -hE '^(--- FAIL|FAIL\s|panic:)' "$LOG_DIR"/*.log 2>/dev/null || true
		echo "-----------------------------------------------------------"
	fi
	for line in "${RESULTS[@]}"; do
		echo "$line"
	done
	if ((FAILURES > 0)); then
		echo "FAIL: $FAILURES step(s) failed (full logs in ${LOG_DIR#"$ROOT"/})"
	else
		echo "PASS"
	fi
}

test_main() {
	local dir modules
	# Listed up front: a broken go.work must fail here, not silently test nothing.
	modules="$(go_modules)" || die "go list -m failed; is go.work valid?"
	LOG_DIR="$DATA_DIR/test-logs"
	rm -rf "$LOG_DIR"
	mkdir -p "$LOG_DIR"

	# Setup that needs the network or root comes first, so a machine that lacks it
	# fails before anything runs. A failure here stops make test.
	need_node "build the web app and run the browser tests"
	tools_main proto
	install_system_packages
	npm_install gateway/web
	npm_install e2e/browser

	# From here on every step runs even when an earlier one failed.
	step "check-generated" "$ROOT/scripts/proto.sh" check
	step "compose spec" "$ROOT/scripts/compose-check.sh" spec
	step "build web app" bash -c 'cd gateway/web && npm run build'
	rm -f bin/ecabinet # a failed build must not leave an old binary for e2e to test
	step "build bin/ecabinet" build_binary
	while read -r dir; do
		step "vet $(module_name "$dir")" go_vet_module "$dir"
	done <<<"$modules"

	trap deps_stop EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	deps_up test
	export ECABINET_BIN="$ROOT/bin/ecabinet"

	while read -r dir; do
		step "test $(module_name "$dir")" go_test_module "$dir"
	done <<<"$modules"

	deps_stop # now, so that the summary is the last thing printed
	print_summary
	((FAILURES == 0))
}

test_main "$@"
