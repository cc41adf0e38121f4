#!/usr/bin/env bash
# Finds or starts PostgreSQL, NATS (JetStream) and MinIO for make run/test/bench.
#
# For each dependency, in this order:
#   1. an explicit URL in the environment (DATABASE_URL, NATS_URL, S3_ENDPOINT;
#      in test mode also TEST_DATABASE_URL / TEST_NATS_URL),
#   2. a server on its usual local port (5432, 4222, 9000) that we can use (PostgreSQL:
#      user postgres without a password; MinIO: credentials from the environment or
#      .data/minio.env) -- one we cannot use is reported and passed over,
#   3. a private instance under .data/ (PostgreSQL from the machine's binaries,
#      MinIO and nats-server from ./bin; in run mode NATS is instead embedded in
#      `ecabinet -target=all`).
# ECABINET_PRIVATE_DEPS=1 skips step 2 (to try step 3 on a machine that has servers).
# ECABINET_DATA_DIR moves .data/ elsewhere.
#
# Sourced (run.sh, test.sh, bench.sh):  deps_up run|test|bench   then, on exit, deps_stop.
# Run directly:  scripts/deps.sh MODE [CMD ARGS...]
#   runs CMD with the dependencies' variables exported, then stops what it started;
#   without CMD prints the variables and keeps the dependencies up until Ctrl-C.
#
# deps_stop stops exactly the processes this shell started, nothing else: a server
# found on a usual port, or a private instance left running by an earlier session,
# is used but never stopped.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/tools.sh
source "$ROOT/scripts/tools.sh"

DEPS_STOPS=()   # commands (shell-quoted) that undo what we started; run in reverse
DEPS_SUMMARY=() # one line per dependency, printed by deps_summary

# remember_stop CMD ARGS...: deps_stop will run this command.
remember_stop() {
	local cmd
	printf -v cmd '%q ' "$@"
	DEPS_STOPS+=("$cmd")
}

deps_stop() {
	local i
	for ((i = ${#DEPS_STOPS[@]} - 1; i >= 0; i--)); do
		eval "${DEPS_STOPS[i]}" || warn "could not run: ${DEPS_STOPS[i]}"
	done
	DEPS_STOPS=()
}

summary() { DEPS_SUMMARY+=("$(printf '%-11s %s' "$1" "$2")"); }

deps_summary() {
	local line
	for line in "${DEPS_SUMMARY[@]}"; do
		printf '    %s\n' "$line" >&2
	done
}

# hide_password URL: for printing URLs that may carry a password.
hide_password() {
	sed -E 's#(://[^:/@]+):[^@/]+@#\1:***@#' <<<"$1"
}

# stop_private_process NAME PID: stop a server we started and forget its pid file.
stop_private_process() {
	stop_pid "$2" "$1"
	rm -f "$DATA_DIR/$1.pid" "$DATA_DIR/$1.port"
}

probe_usual_ports() { [[ "${ECABINET_PRIVATE_DEPS:-0}" != 1 ]]; }

# pid_file_alive NAME COMM: the pid in $DATA_DIR/NAME.pid is a running COMM
# (guards against a stale pid file whose number now belongs to something else).
pid_file_alive() {
	local pid
	pid="$(cat "$DATA_DIR/$1.pid" 2>/dev/null)" || return 1
	[[ "$(ps -o comm= -p "$pid" 2>/dev/null)" == "$2"* ]]
}

# ---------------------------------------------------------------- PostgreSQL

# pg_bindir: where initdb/pg_ctl live. Debian keeps them off PATH, per version.
pg_bindir() {
	local dir
	dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n1)"
	if [[ -z "$dir" ]] && command -v pg_ctl >/dev/null; then
		dir="$(dirname "$(command -v pg_ctl)")"
	fi
	[[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]] || return 1
	echo "$dir"
}

# as_pg_owner CMD...: PostgreSQL refuses to run as root, so when we are root the
# cluster belongs to the postgres user and its commands run as that user.
as_pg_owner() {
	if ((EUID == 0)); then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

psql_cmd() {
	if command -v psql >/dev/null; then
		echo psql
	elif [[ -n "${PG_BINDIR:-}" && -x "$PG_BINDIR/psql" ]]; then
		echo "$PG_BINDIR/psql"
	else
		die "psql not found: apt-get install postgresql-client (or set DATABASE_URL to an existing database)"
	fi
}

# ensure_database ADMIN_URL NAME: create database NAME if it does not exist yet.
ensure_database() {
	local admin_url=$1 db=$2 psql
	psql="$(psql_cmd)"
	if ! "$psql" -X -q -tA -v ON_ERROR_STOP=1 -d "$admin_url" -c 'SELECT 1' >/dev/null 2>&1; then
		return 1
	fi
	if [[ "$("$psql" -X -tA -d "$admin_url" -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]]; then
		say "creating database $db"
		"$psql" -X -q -v ON_ERROR_STOP=1 -d "$admin_url" -c "CREATE DATABASE \"$db\"" >/dev/null
	fi
}

# pg_home: the directory holding the private cluster (postgres/) and its log.
# Normally .data/. As root the cluster belongs to the postgres user, who cannot
# reach a checkout under e.g. /root (mode 700); then it lives in that user's home,
# one directory per checkout, and .data/postgres links to it.
pg_home() {
	if ((EUID != 0)) || runuser -u postgres -- test -x "$DATA_DIR"; then
		echo "$DATA_DIR"
		return
	fi
	local home
	home="$(getent passwd postgres | cut -d: -f6)"
	echo "$home/ecabinet-$(sha256sum <<<"$DATA_DIR" | cut -c1-12)"
}

start_private_postgres() {
	local home dir log port
	PG_BINDIR="$(pg_bindir)" ||
		die "no PostgreSQL server binaries (initdb, pg_ctl) found: apt-get install postgresql, or set DATABASE_URL"
	if ((EUID == 0)); then
		id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user to own the private cluster"
	fi
	home="$(pg_home)"
	dir="$home/postgres"
	log="$home/postgres.log"

	if [[ "$home" == "$DATA_DIR" ]]; then
		mkdir -p "$dir"
		touch "$log"
		if ((EUID == 0)); then
			chown postgres: "$dir" "$log"
		fi
	else
		if ! as_pg_owner mkdir -p "$dir" || ! as_pg_owner touch "$log"; then
			die "the postgres user can reach neither $DATA_DIR nor $home; set ECABINET_DATA_DIR to a directory it can reach"
		fi
		ln -sfn "$dir" "$DATA_DIR/postgres"
		say "the postgres user cannot reach $DATA_DIR; the private cluster lives in $dir"
	fi
	as_pg_owner test -w "$dir" ||
		die "the postgres user cannot write $dir (every parent directory must be searchable by it); set ECABINET_DATA_DIR elsewhere"

	if [[ ! -f "$dir/PG_VERSION" ]]; then
		say "creating a private PostgreSQL cluster in $dir"
		as_pg_owner "$PG_BINDIR/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --no-locale >>"$log" 2>&1 ||
			die "initdb failed; see $log"
	fi

	if as_pg_owner "$PG_BINDIR/pg_ctl" status -D "$dir" >/dev/null 2>&1; then
		# Left running by another session (or a crashed one): use it, don't stop it.
		port="$(sed -n 4p "$dir/postmaster.pid")"
		PG_NOTE="private, already running from $dir; not stopped on exit: $PG_BINDIR/pg_ctl stop -D $dir"
	else
		port="$(free_port 55432)"
		say "starting private PostgreSQL on 127.0.0.1:$port (log $log)"
		# TCP only (no unix socket: the default directory may not be ours); setsid so a
		# Ctrl-C in the terminal reaches us, and we stop it in order.
		as_pg_owner setsid "$PG_BINDIR/pg_ctl" start -w -t 60 -D "$dir" -l "$log" \
			-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=''" >/dev/null ||
			die "PostgreSQL did not start; see $log"
		remember_stop stop_private_postgres "$dir"
		PG_NOTE="private, started from $dir"
	fi
	PG_PORT="$port"
}

stop_private_postgres() {
	say "stopping private PostgreSQL ($1)"
	as_pg_owner "$PG_BINDIR/pg_ctl" stop -D "$1" -m fast -w >/dev/null
}

resolve_postgres() {
	local mode=$1 db=ecabinet
	# Tests get their own database so they never touch the data `make run` keeps.
	[[ "$mode" == run ]] || db=ecabinet_test
	if [[ "$mode" != run && -z "${DATABASE_URL:-}" && -n "${TEST_DATABASE_URL:-}" ]]; then
		DATABASE_URL="$TEST_DATABASE_URL"
	fi

	if [[ -n "${DATABASE_URL:-}" ]]; then
		summary PostgreSQL "$(hide_password "$DATABASE_URL") (from the environment)"
	elif probe_usual_ports && port_open 5432 &&
		ensure_database "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" "$db"; then
		DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
		summary PostgreSQL "$DATABASE_URL (found on the usual port)"
	else
		if probe_usual_ports && port_open 5432; then
			warn "a server listens on 127.0.0.1:5432 but user postgres cannot connect without a password (set DATABASE_URL to use it); starting a private PostgreSQL"
		fi
		start_private_postgres
		ensure_database "postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable" "$db" ||
			die "cannot connect to the private PostgreSQL; see its log ($(pg_home)/postgres.log)"
		DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$db?sslmode=disable"
		summary PostgreSQL "$DATABASE_URL ($PG_NOTE)"
	fi
	export DATABASE_URL
}

# ---------------------------------------------------------------- NATS

# nats_info PORT: the INFO line a NATS server sends on connect (fails if none).
nats_info() {
	local info
	info="$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && head -n1 <&3" 2>/dev/null)" || return 1
	[[ "$info" == INFO* ]] || return 1
	echo "$info"
}

start_private_nats() {
	local store="$DATA_DIR/nats-server" log="$DATA_DIR/nats-server.log" port pid i
	if pid_file_alive nats-server nats-server; then
		port="$(cat "$DATA_DIR/nats-server.port")"
		summary NATS "nats://127.0.0.1:$port (private, already running; not stopped on exit: kill $(cat "$DATA_DIR/nats-server.pid"))"
		NATS_URL="nats://127.0.0.1:$port"
		return
	fi
	ensure_tool nats-server
	port="$(free_port 4222)"
	mkdir -p "$store"
	say "starting private nats-server on 127.0.0.1:$port (log $log)"
	setsid "$ROOT/bin/nats-server" -js -a 127.0.0.1 -p "$port" -sd "$store" >>"$log" 2>&1 &
	pid=$!
	echo "$pid" >"$DATA_DIR/nats-server.pid"
	echo "$port" >"$DATA_DIR/nats-server.port"
	remember_stop stop_private_process nats-server "$pid"
	for ((i = 0; i < 100; i++)); do
		nats_info "$port" >/dev/null && break
		pid_alive "$pid" || die "nats-server exited; see $log"
		sleep 0.1
	done
	nats_info "$port" >/dev/null || die "nats-server did not answer on port $port; see $log"
	NATS_URL="nats://127.0.0.1:$port"
	summary NATS "$NATS_URL (private, started; store $store)"
}

resolve_nats() {
	local mode=$1 info
	if [[ "$mode" != run && -z "${NATS_URL:-}" && -n "${TEST_NATS_URL:-}" ]]; then
		NATS_URL="$TEST_NATS_URL"
	fi

	if [[ -n "${NATS_URL:-}" ]]; then
		summary NATS "$(hide_password "$NATS_URL") (from the environment)"
	elif probe_usual_ports && info="$(nats_info 4222)"; then
		[[ "$info" == *'"jetstream":true'* ]] ||
			die "the NATS server on 127.0.0.1:4222 runs without JetStream; restart it with -js, or set NATS_URL"
		NATS_URL="nats://127.0.0.1:4222"
		summary NATS "$NATS_URL (found on the usual port)"
	elif [[ "$mode" == run ]]; then
		# ecabinet -target=all embeds NATS when NATS_URL is unset.
		export NATS_STORE_DIR="${NATS_STORE_DIR:-$DATA_DIR/nats}"
		summary NATS "embedded in ecabinet (store $NATS_STORE_DIR)"
		return
	else
		start_private_nats
	fi
	export NATS_URL
}

# ---------------------------------------------------------------- MinIO

# s3_creds_work ENDPOINT: S3_ACCESS_KEY/S3_SECRET_KEY are accepted there
# (a signed ListBuckets; curl signs SigV4 itself).
s3_creds_work() {
	curl -fsS -o /dev/null --max-time 5 --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" "http://$1/" 2>/dev/null
}

# load_minio_env: S3 credentials from the environment, else from .data/minio.env.
load_minio_env() {
	if [[ -z "${S3_ACCESS_KEY:-}" || -z "${S3_SECRET_KEY:-}" ]] && [[ -f "$DATA_DIR/minio.env" ]]; then
		# shellcheck source=/dev/null
		source "$DATA_DIR/minio.env"
	fi
	[[ -n "${S3_ACCESS_KEY:-}" && -n "${S3_SECRET_KEY:-}" ]]
}

start_private_minio() {
	local store="$DATA_DIR/minio" log="$DATA_DIR/minio.log" port console pid i
	if [[ ! -f "$DATA_DIR/minio.env" ]]; then
		# Credentials made once per checkout; kept so the data under .data/minio stays readable.
		(
			umask 077
			printf 'S3_ACCESS_KEY=ecabinet\nS3_SECRET_KEY=%s\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
				>"$DATA_DIR/minio.env"
		)
	fi
	unset S3_ACCESS_KEY S3_SECRET_KEY
	load_minio_env

	if pid_file_alive minio minio; then
		port="$(cat "$DATA_DIR/minio.port")"
		S3_ENDPOINT="127.0.0.1:$port"
		summary MinIO "$S3_ENDPOINT (private, already running; not stopped on exit: kill $(cat "$DATA_DIR/minio.pid"))"
		return
	fi
	ensure_tool minio
	port="$(free_port 9000)"
	console="$(free_port $((port + 1)))"
	mkdir -p "$store"
	say "starting private MinIO on 127.0.0.1:$port, console 127.0.0.1:$console (log $log)"
	MINIO_ROOT_USER="$S3_ACCESS_KEY" MINIO_ROOT_PASSWORD="$S3_SECRET_KEY" \
		setsid "$ROOT/bin/minio" server --quiet --address "127.0.0.1:$port" \
		--console-address "127.0.0.1:$console" "$store" >>"$log" 2>&1 &
	pid=$!
	echo "$pid" >"$DATA_DIR/minio.pid"
	echo "$port" >"$DATA_DIR/minio.port"
	remember_stop stop_private_process minio "$pid"
	for ((i = 0; i < 300; i++)); do
		http_ok "http://127.0.0.1:$port/minio/health/live" && break
		pid_alive "$pid" || die "minio exited; see $log"
		sleep 0.1
	done
	http_ok "http://127.0.0.1:$port/minio/health/live" || die "minio not live after 30s; see $log"
	S3_ENDPOINT="127.0.0.1:$port"
	summary MinIO "$S3_ENDPOINT (private, started; data $store, console http://127.0.0.1:$console)"
}

resolve_minio() {
	if [[ -n "${S3_ENDPOINT:-}" ]]; then
		load_minio_env || die "S3_ENDPOINT is set; set S3_ACCESS_KEY and S3_SECRET_KEY too"
		summary MinIO "$S3_ENDPOINT (from the environment)"
	elif probe_usual_ports && http_ok "http://127.0.0.1:9000/minio/health/live"; then
		if [[ -n "${S3_ACCESS_KEY:-}" && -n "${S3_SECRET_KEY:-}" ]]; then
			# Credentials given explicitly: the user means this server.
			s3_creds_work 127.0.0.1:9000 ||
				die "MinIO on 127.0.0.1:9000 rejects S3_ACCESS_KEY=$S3_ACCESS_KEY from the environment"
			S3_ENDPOINT="127.0.0.1:9000"
			summary MinIO "$S3_ENDPOINT (found on the usual port)"
		elif load_minio_env && s3_creds_work 127.0.0.1:9000; then
			S3_ENDPOINT="127.0.0.1:9000"
			summary MinIO "$S3_ENDPOINT (found on the usual port, credentials from .data/minio.env)"
		else
			# Someone else's MinIO: usable only with its credentials, which we don't have.
			warn "MinIO on 127.0.0.1:9000 is not ours and its credentials are unknown (set S3_ACCESS_KEY and S3_SECRET_KEY to use it); starting a private one"
			start_private_minio
		fi
	else
		start_private_minio
	fi
	export S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY
}

# ---------------------------------------------------------------- identity key

resolve_identity_key() {
	local seed="$DATA_DIR/identity.seed"
	if [[ -z "${IDENTITY_SIGNING_KEY:-}" ]]; then
		if [[ ! -s "$seed" ]]; then
			# One key per checkout, so tokens minted earlier stay valid across restarts.
			(
				umask 077
				head -c 32 /dev/urandom | base64 -w0 >"$seed"
			)
		fi
		IDENTITY_SIGNING_KEY="$(cat "$seed")"
	fi
	export IDENTITY_SIGNING_KEY
}

# ---------------------------------------------------------------- ballot key

# The voting service seals the ballots of open polls with a key derived from
# BALLOT_KEY (32 random bytes, base64), which never enters the database. One
# per checkout, kept like the identity seed: a restart must still open the
# ballots of a poll opened before it.
resolve_ballot_key() {
	local file="$DATA_DIR/ballot.key"
	if [[ -z "${BALLOT_KEY:-}" ]]; then
		if [[ ! -s "$file" ]]; then
			(
				umask 077
				head -c 32 /dev/urandom | base64 -w0 >"$file"
			)
		fi
		BALLOT_KEY="$(cat "$file")"
	fi
	export BALLOT_KEY
}

# ---------------------------------------------------------------- entry points

# deps_up MODE: resolve every dependency and export its variables.
# MODE run: NATS may be embedded. MODE test|bench: a real NATS is always provided.
deps_up() {
	local mode=$1
	[[ "$mode" == run || "$mode" == test || "$mode" == bench ]] || die "deps_up: unknown mode $mode (run, test or bench)"
	mkdir -p "$DATA_DIR"
	resolve_postgres "$mode"
	resolve_nats "$mode"
	resolve_minio
	resolve_identity_key
	resolve_ballot_key
	say "dependencies:"
	deps_summary
}

deps_main() {
	local mode=${1:-}
	[[ -n "$mode" ]] || die "usage: scripts/deps.sh run|test|bench [CMD ARGS...]"
	shift
	trap deps_stop EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	deps_up "$mode"
	if (($# > 0)); then
		local rc=0
		"$@" || rc=$?
		exit "$rc"
	fi
	printf 'export DATABASE_URL=%q\n' "$DATABASE_URL"
	[[ -n "${NATS_URL:-}" ]] && printf 'export NATS_URL=%q\n' "$NATS_URL"
	[[ -n "${NATS_STORE_DIR:-}" ]] && printf 'export NATS_STORE_DIR=%q\n' "$NATS_STORE_DIR"
	printf 'export S3_ENDPOINT=%q S3_ACCESS_KEY=%q S3_SECRET_KEY=%q\n' "$S3_ENDPOINT" "$S3_ACCESS_KEY" "$S3_SECRET_KEY"
	printf 'export IDENTITY_SIGNING_KEY=%q\n' "$IDENTITY_SIGNING_KEY"
	say "dependencies are up; paste the lines above into another shell. Ctrl-C stops what was started here."
	while true; do
		sleep 1 # short sleeps: bash runs the INT trap between them
	done
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	deps_main "$@"
fi
