# shellcheck shell=bash
# Small helpers shared by the scripts in this directory. Sourced, never run.
#
# After sourcing: ROOT is the repository root (absolute) and the caller's working
# directory is ROOT, so every path below is relative to the repo.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

# Everything the scripts create at run time lives under DATA_DIR (git-ignored).
# ECABINET_DATA_DIR moves it, e.g. to try the private-instance path in a temp dir.
# shellcheck disable=SC2034 # used by the scripts that source this file
DATA_DIR="${ECABINET_DATA_DIR:-$ROOT/.data}"

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# port_open PORT [HOST]: something accepts TCP connections there. Uses bash's
# /dev/tcp so it works on machines without ss/netstat/nc.
port_open() {
	local port=$1 host=${2:-127.0.0.1}
	timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null
}

# free_port START: the first port >= START that nothing listens on.
free_port() {
	local port=$1
	while port_open "$port"; do
		port=$((port + 1))
		((port < $1 + 200)) || die "no free port in $1..$port"
	done
	echo "$port"
}

# http_ok URL: the URL answers 2xx.
http_ok() {
	curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
}

# pid_alive PID: the process exists (and is not a zombie we forgot to reap).
pid_alive() {
	[[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null
}

# stop_pid PID NAME: SIGTERM, wait up to 15 s, then SIGKILL. Only ever called
# with pids this session started itself.
stop_pid() {
	local pid=$1 name=$2 i
	pid_alive "$pid" || return 0
	say "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 150; i++)); do
		if ! ps -o stat= -p "$pid" 2>/dev/null | grep -qv Z; then
			wait "$pid" 2>/dev/null || true # reap it if it is our child
			return 0
		fi
		sleep 0.1
	done
	warn "$name (pid $pid) ignored SIGTERM for 15s; killing it"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# go_modules: the directory of every module in go.work, one per line.
go_modules() {
	go list -m -f '{{.Dir}}'
}

# need_cmd CMD HINT: fail early with an install hint instead of a cryptic error later.
need_cmd() {
	command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"
}
