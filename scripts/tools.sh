#!/usr/bin/env bash
# Installs the pinned Go tools listed in scripts/tools.txt into ./bin.
#
#   scripts/tools.sh            every tool
#   scripts/tools.sh proto      buf and the protoc plugins
#   scripts/tools.sh NAME...    just those (e.g. minio, nats-server)
#
# Sourced, it provides ensure_tool NAME for scripts that need one tool lazily.
#
# A stamp file bin/.NAME-VERSION records that bin/NAME is that version, so a
# re-run costs nothing. A binary without a stamp (e.g. built by hand) is checked
# with `go version -m` and only rebuilt when it is not the pinned version.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROTO_TOOLS=(buf protoc-gen-go protoc-gen-go-grpc protoc-gen-grpc-gateway protoc-gen-openapiv2)

# tool_spec NAME: prints "PACKAGE VERSION" from tools.txt.
tool_spec() {
	local spec
	spec="$(awk -v n="$1" '$1 == n { print $2, $3 }' "$ROOT/scripts/tools.txt")"
	[[ -n "$spec" ]] || die "unknown tool $1 (not in scripts/tools.txt)"
	echo "$spec"
}

# built_as BIN PACKAGE VERSION: the binary's build info says it is PACKAGE at VERSION.
built_as() {
	local info
	info="$(go version -m "$1" 2>/dev/null)" || return 1
	awk -v pkg="$2" -v ver="$3" '
		$1 == "path" && $2 == pkg { p = 1 }
		$1 == "mod" && $3 == ver { v = 1 }
		END { exit !(p && v) }' <<<"$info"
}

ensure_tool() {
	local name=$1 spec pkg version bin stamp
	spec="$(tool_spec "$name")" || exit 1
	read -r pkg version <<<"$spec"
	bin="$ROOT/bin/$name"
	stamp="$ROOT/bin/.$name-$version"
	[[ -x "$bin" && -f "$stamp" ]] && return 0

	mkdir -p "$ROOT/bin"
	if [[ -x "$bin" ]] && built_as "$bin" "$pkg" "$version"; then
		touch "$stamp"
		return 0
	fi

	say "installing $name $version (go install $pkg@$version)"
	# GOWORK=off and a neutral directory: `go install pkg@version` must not see
	# (or touch) the workspace's go.mod files.
	(cd / && GOWORK=off GOBIN="$ROOT/bin" go install "$pkg@$version") ||
		die "could not install $name; is the Go module proxy reachable?"
	# go install names the binary after the package's last element (ignoring a /vN
	# suffix); a few packages are called e.g. "cmd", so rename to the name we use.
	local base=${pkg##*/}
	[[ "$base" =~ ^v[0-9]+$ ]] && base=$(basename "$(dirname "$pkg")")
	if [[ "$base" != "$name" ]]; then
		mv -f "$ROOT/bin/$base" "$bin"
	fi
	rm -f "$ROOT/bin/.$name-"* # stamps of other versions
	touch "$stamp"
}

tools_main() {
	local names=("$@") n p
	if ((${#names[@]} == 0)); then
		mapfile -t names < <(awk '!/^#/ && NF { print $1 }' "$ROOT/scripts/tools.txt")
	fi
	for n in "${names[@]}"; do
		if [[ "$n" == proto ]]; then
			for p in "${PROTO_TOOLS[@]}"; do ensure_tool "$p"; done
		else
			ensure_tool "$n"
		fi
	done
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	tools_main "$@"
fi
