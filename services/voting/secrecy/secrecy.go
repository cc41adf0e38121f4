// Package secrecy holds the cryptography of secret ballots (ADR 0005):
// receipts derived from the tablet's idempotency key, the keyed tag that
// lets a retry find its ballot, and the seal (AES-256-GCM) that keeps an
// open poll's ballots unreadable to whoever holds the database. Keys are
// derived with HKDF from BALLOT_KEY, which never enters the database.
package secrecy

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// KeySize is the size of BALLOT_KEY in bytes.
const KeySize = 32

// Keys derives per-poll keys from the master ballot key.
type Keys struct {
	master []byte

	// derived remembers each poll's derived keys and its AEAD, so a
	// ballot does not pay three HKDF derivations and an AES-GCM set-up
	// (a few per cent of a ballot's CPU in a vote storm). They are held
	// in memory only, as the master key they come from is.
	mu      sync.Mutex
	derived map[string][]byte      // purpose + "|" + poll id -> key
	aeads   map[string]cipher.AEAD // poll id -> the seal's AEAD
}

// maxCached bounds the derived keys kept; past it the cache starts over.
const maxCached = 4096

// NewKeys checks the master key's size.
func NewKeys(master []byte) (*Keys, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("ballot key must be %d bytes, got %d", KeySize, len(master))
	}
	return &Keys{master: append([]byte(nil), master...)}, nil
}

// DecodeKey decodes BALLOT_KEY: standard or URL base64, padded or not, of
// 32 bytes.
func DecodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("must be %d bytes in base64, got %d", KeySize, len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("must be base64 (32 bytes)")
}

// derive is HKDF-SHA256 of the master key for one purpose and one poll:
// a key of one poll says nothing about another's.
func (k *Keys) derive(purpose, pollID string) []byte {
	id := purpose + "|" + pollID
	k.mu.Lock()
	key, ok := k.derived[id]
	k.mu.Unlock()
	if ok {
		return key
	}
	key, err := hkdf.Key(sha256.New, k.master, nil, "ecabinet ballot "+purpose+" v1|"+pollID, 32)
	if err != nil {
		panic(err) // only for lengths HKDF cannot produce; 32 always works
	}
	k.mu.Lock()
	if k.derived == nil || len(k.derived) >= maxCached {
		k.derived = map[string][]byte{}
	}
	k.derived[id] = key
	k.mu.Unlock()
	return key
}

// Tag is HMAC-SHA256 of the receipt under the poll's tag key: stored in the
// clear beside a sealed ballot so a retry finds it, yet without the key no
// one can compute it from a receipt (or from a voter).
func (k *Keys) Tag(pollID, receipt string) []byte {
	m := hmac.New(sha256.New, k.derive("tag", pollID))
	m.Write([]byte(receipt))
	return m.Sum(nil)
}

// Owner is HMAC-SHA256, under the poll's owner key, of a ballot's receipt
// and of whom it belongs to (the person whose ballot it is and, for a
// delegated one, the delegate who cast it). It goes inside the seal, so a
// retry can tell its own ballot from another voter's found by the same key,
// and it links nobody to a ballot without the receipt: whoever opens the
// seal with BALLOT_KEY still needs the voter's 80-bit receipt to test a
// name against it.
func (k *Keys) Owner(pollID, receipt, person, by string) []byte {
	m := hmac.New(sha256.New, k.derive("owner", pollID))
	m.Write([]byte(receipt + "|" + person + "|" + by))
	return m.Sum(nil)
}

// Seal encrypts plaintext for the poll, padded to exactly size bytes first
// so every sealed ballot of a poll has the same length whatever its
// choices. The poll id is the associated data: a seal moved to another
// poll does not open.
func (k *Keys) Seal(pollID string, plaintext []byte, size int) ([]byte, error) {
	if len(plaintext)+4 > size {
		return nil, fmt.Errorf("ballot of %d bytes does not fit the poll's seal size %d", len(plaintext), size)
	}
	padded := make([]byte, size)
	binary.BigEndian.PutUint32(padded, uint32(len(plaintext)))
	copy(padded[4:], plaintext)
	aead, err := k.aead(pollID)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, padded, []byte(pollID)), nil
}

// Open reverses Seal.
func (k *Keys) Open(pollID string, sealed []byte) ([]byte, error) {
	aead, err := k.aead(pollID)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("sealed ballot too short")
	}
	padded, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(pollID))
	if err != nil {
		return nil, fmt.Errorf("open sealed ballot: %w", err)
	}
	n := int(binary.BigEndian.Uint32(padded))
	if n > len(padded)-4 {
		return nil, errors.New("sealed ballot has a bad length")
	}
	return padded[4 : 4+n], nil
}

// aead is the poll's AES-256-GCM. An AEAD keeps no state between calls,
// so one serves concurrent ballots.
func (k *Keys) aead(pollID string) (cipher.AEAD, error) {
	k.mu.Lock()
	a, ok := k.aeads[pollID]
	k.mu.Unlock()
	if ok {
		return a, nil
	}
	block, err := aes.NewCipher(k.derive("seal", pollID))
	if err != nil {
		return nil, err
	}
	if a, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	k.mu.Lock()
	if k.aeads == nil || len(k.aeads) >= maxCached {
		k.aeads = map[string]cipher.AEAD{}
	}
	k.aeads[pollID] = a
	k.mu.Unlock()
	return a, nil
}

// base64url of at least 22 characters carries at least 128 bits.
var randomKey = regexp.MustCompile(`^[A-Za-z0-9_-]{22,200}$`)

// ValidIdempotencyKey accepts what can carry at least 128 bits of
// randomness: a UUID in its 36-character form, or 22 to 200 base64url
// characters. Anything shorter could be guessed, and with it the receipt.
func ValidIdempotencyKey(s string) bool {
	if len(s) == 36 {
		_, err := uuid.Parse(s)
		return err == nil
	}
	return randomKey.MatchString(s)
}

var receiptEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Receipt is the code the voter is shown: 16 base32 characters (80 bits)
// in groups of four, HMAC-SHA256 keyed by the idempotency key over the
// poll id. It depends only on what the tablet holds, so the service keeps
// nothing that joins voter and ballot, and a retry gets the same code.
func Receipt(idempotencyKey, pollID string) string {
	m := hmac.New(sha256.New, []byte(idempotencyKey))
	m.Write([]byte("ecabinet receipt v1|" + pollID))
	code := receiptEncoding.EncodeToString(m.Sum(nil)[:10])
	return code[0:4] + "-" + code[4:8] + "-" + code[8:12] + "-" + code[12:16]
}

// ReceiptHash is what the list of counted ballots shows: the hex SHA-256
// of the receipt exactly as the voter got it (with its hyphens).
func ReceiptHash(receipt string) string {
	sum := sha256.Sum256([]byte(receipt))
	return hex.EncodeToString(sum[:])
}

// Shuffle permutes n items with crypto/rand (Fisher–Yates), so the order
// of the rewritten ballot box says nothing about the order of casting.
func Shuffle(n int, swap func(i, j int)) error {
	for i := n - 1; i > 0; i-- {
		j, err := randIntn(i + 1)
		if err != nil {
			return err
		}
		swap(i, j)
	}
	return nil
}

func randIntn(n int) (int, error) {
	// Rejection sampling keeps the permutation uniform.
	limit := ^uint64(0) - ^uint64(0)%uint64(n)
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		v := binary.BigEndian.Uint64(b[:])
		if v < limit {
			return int(v % uint64(n)), nil
		}
	}
}
