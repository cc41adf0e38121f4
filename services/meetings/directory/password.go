package directory

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// argonParams are the argon2id cost parameters, stored with every hash (PHC
// string format), so they can be raised later without invalidating old
// passwords: a login with an old hash rehashes it.
type argonParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// defaultParams follow OWASP's password storage cheat sheet for argon2id
// (m = 19 MiB, t = 2, p = 1): about 0.1 s on one core of the 2-core machines
// the product targets, so the 40 members of a meeting signing in at once
// wait about 2 s, while an offline guesser pays 19 MiB and 0.1 s a guess.
var defaultParams = argonParams{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on parameters read back from a stored hash, so a corrupted or
// planted row cannot make a login allocate gigabytes.
const (
	maxArgonMemory  = 1 << 20 // 1 GiB in KiB
	maxArgonTime    = 16
	maxArgonThreads = 16
)

var errMalformedHash = errors.New("malformed argon2id hash")

// hasher hashes and checks passwords. Each hash holds Memory KiB while it
// runs; a semaphore sized to the machine bounds how many run at once, so a
// burst of logins queues instead of exhausting memory.
type hasher struct {
	p   argonParams
	sem chan struct{}

	// dummy is a hash of a random password with the current parameters:
	// a login for an unknown username is checked against it, so it costs
	// the same time as one for a known username.
	dummyOnce sync.Once
	dummy     string
	dummyErr  error
}

func newHasher(p argonParams) *hasher {
	return &hasher{p: p, sem: make(chan struct{}, 2*runtime.GOMAXPROCS(0))}
}

// hash returns the PHC string of password with a fresh salt.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key, err := h.key(ctx, password, salt, h.p)
	if err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.p.Memory, h.p.Time, h.p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verify reports whether password matches the PHC string phc, and whether
// phc was made with other parameters than the current ones (the caller
// should then store a new hash).
func (h *hasher) verify(ctx context.Context, password, phc string) (ok, stale bool, err error) {
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return false, false, err
	}
	got, err := h.key(ctx, password, salt, p)
	if err != nil {
		return false, false, err
	}
	ok = subtle.ConstantTimeCompare(got, want) == 1
	return ok, p != h.p, nil
}

// verifyDummy does the work of verify for a username that does not exist
// and always fails.
func (h *hasher) verifyDummy(ctx context.Context, password string) error {
	h.dummyOnce.Do(func() {
		random := make([]byte, 32)
		if _, err := rand.Read(random); err != nil {
			h.dummyErr = err
			return
		}
		h.dummy, h.dummyErr = h.hash(ctx, base64.RawStdEncoding.EncodeToString(random))
	})
	if h.dummyErr != nil {
		return fmt.Errorf("dummy hash: %w", h.dummyErr)
	}
	_, _, err := h.verify(ctx, password, h.dummy)
	return err
}

func (h *hasher) key(ctx context.Context, password string, salt []byte, p argonParams) ([]byte, error) {
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.sem }()
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// parsePHC reads "$argon2id$v=19$m=…,t=…,p=…$salt$hash".
func parsePHC(phc string) (argonParams, []byte, []byte, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return argonParams{}, nil, nil, errMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return argonParams{}, nil, nil, fmt.Errorf("%w: version %q", errMalformedHash, parts[2])
	}
	var p argonParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return argonParams{}, nil, nil, fmt.Errorf("%w: parameters %q", errMalformedHash, parts[3])
	}
	if p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgonMemory || p.Time < 1 || p.Time > maxArgonTime ||
		p.Threads < 1 || p.Threads > maxArgonThreads {
		return argonParams{}, nil, nil, fmt.Errorf("%w: parameters out of range %q", errMalformedHash, parts[3])
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return argonParams{}, nil, nil, fmt.Errorf("%w: salt", errMalformedHash)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return argonParams{}, nil, nil, fmt.Errorf("%w: hash", errMalformedHash)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
