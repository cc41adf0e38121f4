#!/usr/bin/env bash
# make compose-env: writes .data/compose.env, the secrets docker-compose.yml requires,
# generated once and kept (PostgreSQL and MinIO remember their first password in
# their volumes, so regenerating would lock the data out).
#
#   docker compose --env-file .data/compose.env up --build
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# verify_key SEED_B64: the Ed25519 public key (base64) for a 32-byte seed. openssl
# reads the seed as a PKCS#8 private key: the fixed 16-byte DER prefix for Ed25519
# followed by the seed; the public key is the last 32 bytes of its SPKI form.
verify_key() {
	{
		printf '\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20'
		base64 -d <<<"$1"
	} | openssl pkey -inform DER -pubout -outform DER | tail -c 32 | base64 -w0
}

random_hex() {
	head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'
}

compose_env_main() {
	local out="$DATA_DIR/compose.env" seed
	if [[ -f "$out" ]]; then
		# Files made before the voting service needed its ballot key get one.
		if ! grep -q '^BALLOT_KEY=' "$out"; then
			echo "BALLOT_KEY=$(head -c 32 /dev/urandom | base64 -w0)" >>"$out"
			say "added BALLOT_KEY to $out"
		fi
		say "$out exists; keeping it (delete it together with the compose volumes to start over)"
		return 0
	fi
	need_cmd openssl "apt-get install openssl (derives the identity verify key)"
	mkdir -p "$DATA_DIR"
	seed="$(head -c 32 /dev/urandom | base64 -w0)"
	(
		umask 077
		cat >"$out" <<ENV
# Secrets for docker-compose.yml, made by scripts/compose-env.sh. Do not commit.
POSTGRES_PASSWORD=$(random_hex 24)
S3_ACCESS_KEY=ecabinet
S3_SECRET_KEY=$(random_hex 24)
IDENTITY_SIGNING_KEY=$seed
IDENTITY_VERIFY_KEY=$(verify_key "$seed")
BALLOT_KEY=$(head -c 32 /dev/urandom | base64 -w0)
ENV
	)
	say "wrote $out; start with: docker compose --env-file ${out#"$ROOT"/} up --build"
}

compose_env_main "$@"
