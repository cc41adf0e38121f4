#!/usr/bin/env bash
# make run: the whole suite on this machine, from a clean clone.
#
# Builds the web app and bin/ecabinet, finds or starts PostgreSQL, NATS and MinIO
# (scripts/deps.sh), starts `ecabinet -target=all`, waits until /readyz says ready,
# loads the demo data (`ecabinet -load-demo`, idempotent), prints the URL, the demo
# logins and an API token. Ctrl-C stops ecabinet and exactly the
# dependencies this run started. Re-running is safe: data stays under .data/.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/deps.sh
source "$ROOT/scripts/deps.sh"
# shellcheck source=scripts/build.sh
source "$ROOT/scripts/build.sh"

READY_TIMEOUT=${ECABINET_READY_TIMEOUT:-120} # seconds; migrations on a fresh database included
ECABINET_PID=

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [[ -n "$ECABINET_PID" ]]; then
		stop_pid "$ECABINET_PID" ecabinet
	fi
	deps_stop
}

# check_addr_free VAR ADDR: fail before starting anything if ADDR is taken, e.g.
# by another `make run`; the message says which variable moves it.
check_addr_free() {
	local var=$1 addr=$2 host port
	host=${addr%:*}
	port=${addr##*:}
	[[ -z "$host" || "$host" == 0.0.0.0 ]] && host=127.0.0.1
	if port_open "$port" "$host"; then
		die "$addr is already in use (another make run?); stop that, or choose another address with $var=127.0.0.1:PORT"
	fi
}

# not_ready_checks BODY: the failing lines of a /readyz body, e.g. "minio: dial tcp …".
not_ready_checks() {
	grep -o '"name":"[^"]*","ok":false[^}]*' <<<"$1" |
		sed -E 's/"name":"([^"]*)","ok":false(,"error":"(.*)")?/  \1: \3/' || echo "  $1"
}

wait_ready() {
	local url=$1 start=$SECONDS next_report=10 body rc
	say "waiting for $url"
	while true; do
		pid_alive "$ECABINET_PID" || {
			wait "$ECABINET_PID" 2>/dev/null && rc=0 || rc=$?
			ECABINET_PID=
			die "ecabinet exited (status $rc) before it was ready; its log is above"
		}
		body="$(curl -sS --max-time 3 "$url" 2>/dev/null)" && [[ "$body" == *'"ready":true'* ]] && return 0
		if ((SECONDS - start >= next_report)); then
			# Slow start: say which part is not ready (the process keeps retrying it).
			say "not ready after $((SECONDS - start))s; waiting on:"
			not_ready_checks "${body:-no answer from the gateway yet}" >&2
			next_report=$((next_report + 10))
		fi
		((SECONDS - start < READY_TIMEOUT)) || die "not ready after ${READY_TIMEOUT}s; see the log above and $url"
		sleep 0.5
	done
}

run_main() {
	local http_addr grpc_addr base_url token logins
	need_node "build the web app (make run serves it)"
	build_web
	build_binary

	http_addr="${HTTP_ADDR:-127.0.0.1:8080}"
	grpc_addr="${GRPC_ADDR:-127.0.0.1:9090}"
	check_addr_free HTTP_ADDR "$http_addr"
	check_addr_free GRPC_ADDR "$grpc_addr"

	trap cleanup EXIT
	# Ctrl-C is how a make run ends: after the cleanup that is a success, not an error.
	trap 'exit 0' INT
	trap 'exit 143' TERM
	deps_up run

	say "starting bin/ecabinet -target=all"
	bin/ecabinet -target=all &
	ECABINET_PID=$!

	base_url="http://${http_addr/#0.0.0.0:/127.0.0.1:}"
	wait_ready "$base_url/readyz"
	say "loading the demo data (organisations, people, logins, today's meeting)"
	# A failed load leaves the suite usable (with the API token below), so it is
	# reported rather than fatal.
	if logins="$(bin/ecabinet -load-demo)"; then
		logins="    ${logins//$'\n'/$'\n'    }"
	else
		warn "bin/ecabinet -load-demo failed (its error is above); the suite runs without demo data"
		logins="    (none: loading the demo data failed)"
	fi
	token="$(bin/ecabinet -mint-token)" || die "bin/ecabinet -mint-token failed"

	cat >&2 <<EOF

  ecabinet is ready:   $base_url/
  health:              $base_url/readyz
  API (OpenAPI):       $base_url/api/openapi.json

  Demo logins (sign in at $base_url/):
$logins

  API token (system admin, valid 12 h; another: IDENTITY_SIGNING_KEY=\$(cat .data/identity.seed) bin/ecabinet -mint-token):
    $token
  e.g.  curl -H "Authorization: Bearer \$TOKEN" $base_url/api/v1/...
  or sign in as an API client:
    curl -X POST -H 'Content-Type: application/json' -d '{"username":"quantri","password":"…","issueToken":true}' $base_url/api/v1/auth/login

  Ctrl-C stops ecabinet and what this run started.

EOF
	# wait returns early when a trapped signal arrives; the trap then cleans up.
	local rc=0
	wait "$ECABINET_PID" || rc=$?
	ECABINET_PID=
	die "ecabinet exited by itself (status $rc)"
}

run_main "$@"
