#!/usr/bin/env bash
# Builds the web app (gateway/web -> gateway/web/dist, embedded by go:embed) and
# bin/ecabinet.
#
#   scripts/build.sh          web app if Node.js is installed (else the binary embeds
#                             the placeholder page, with a warning), then bin/ecabinet
#   scripts/build.sh web      only the web app (fails without Node.js)
#   scripts/build.sh binary   only bin/ecabinet
#
# Sourced, it provides npm_install DIR, build_web and build_binary.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_node() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		die "Node.js and npm are needed to $1 (Debian: apt-get install nodejs npm; or https://nodejs.org, version 20 or newer)"
	fi
}

# npm_install DIR: `npm ci` in DIR, skipped when node_modules was installed from
# the same package-lock.json (npm ci always starts from scratch, which makes every
# re-run of make run/test pay for a full install otherwise).
npm_install() {
	local dir=$1 stamp want
	[[ -f "$dir/package-lock.json" ]] || die "$dir/package-lock.json is missing; commit it (npm ci needs it)"
	stamp="$dir/node_modules/.ecabinet-lock-sha256"
	want="$(cat "$dir/package-lock.json" "$dir/package.json" | sha256sum | cut -d' ' -f1) node-$(node --version)"
	if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
		return 0
	fi
	say "npm ci in $dir"
	(cd "$dir" && npm ci --no-audit --no-fund) || die "npm ci failed in $dir"
	mkdir -p "$dir/node_modules" # npm ci makes none for a package without dependencies
	echo "$want" >"$stamp"
}

build_web() {
	need_node "build the web app in gateway/web"
	npm_install gateway/web
	say "building the web app (gateway/web/dist)"
	(cd gateway/web && npm run build) || die "the web app did not build (npm run build in gateway/web)"
}

build_binary() {
	say "building bin/ecabinet"
	mkdir -p bin
	go build -o bin/ecabinet ./cmd/ecabinet
}

build_main() {
	case "${1:-all}" in
	web) build_web ;;
	binary) build_binary ;;
	all)
		if command -v npm >/dev/null; then
			build_web
		else
			warn "npm not found: bin/ecabinet will serve the placeholder page instead of the web app"
		fi
		build_binary
		;;
	*) die "usage: scripts/build.sh [all|web|binary]" ;;
	esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	build_main "$@"
fi
