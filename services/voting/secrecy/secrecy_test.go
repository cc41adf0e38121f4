package secrecy

import (
	"bytes"
	"crypto/rand"
	"regexp"
	"strings"
	"testing"
)

func keys(t *testing.T) *Keys {
	t.Helper()
	master := make([]byte, KeySize)
	_, _ = rand.Read(master)
	k, err := NewKeys(master)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestReceipt(t *testing.T) {
	const poll = "0190f3a2-7c4e-7b21-9a3d-5c6e7f801234"
	key := "0b8f8e3a-5d1c-4e6f-9a7b-2c3d4e5f6a7b"
	r := Receipt(key, poll)
	if !regexp.MustCompile(`^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$`).MatchString(r) {
		t.Errorf("receipt %q: want 16 base32 characters in groups of four", r)
	}
	if Receipt(key, poll) != r {
		t.Error("the same key and poll give another receipt")
	}
	if Receipt(key, "0190f3a2-7c4e-7b21-9a3d-5c6e7f801235") == r || Receipt(key+"x", poll) == r {
		t.Error("another poll or key gives the same receipt")
	}
	if h := ReceiptHash(r); len(h) != 64 || strings.ToLower(h) != h {
		t.Errorf("receipt hash %q is not lower-case hex SHA-256", h)
	}
}

func TestValidIdempotencyKey(t *testing.T) {
	for k, want := range map[string]bool{
		"0b8f8e3a-5d1c-4e6f-9a7b-2c3d4e5f6a7b":  true,
		"AAAAAAAAAAAAAAAAAAAAAA":                true, // 22 base64url characters: 132 bits
		"AAAAAAAAAAAAAAAAAAAA_-":                true,
		strings.Repeat("a", 200):                true,
		strings.Repeat("a", 201):                false,
		"AAAAAAAAAAAAAAAAAAAAA":                 false, // 21: 126 bits
		"":                                      false,
		"1234":                                  false,
		"AAAAAAAAAAAAAAAAAAAAAA==":              false, // padding is not base64url
		"AAAAAAAAAA AAAAAAAAAAAA":               false,
		"{0b8f8e3a-5d1c-4e6f-9a7b-2c3d4e5f6a7}": false,
	} {
		if got := ValidIdempotencyKey(k); got != want {
			t.Errorf("ValidIdempotencyKey(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestSeal(t *testing.T) {
	k := keys(t)
	const poll, other = "poll-1", "poll-2"
	a, err := k.Seal(poll, []byte(`{"c":["agree"]}`), 256)
	if err != nil {
		t.Fatal(err)
	}
	b, err := k.Seal(poll, []byte(`{"c":["disagree","x"]}`), 256)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Errorf("seals of %d and %d bytes: the length tells the ballots apart", len(a), len(b))
	}
	again, _ := k.Seal(poll, []byte(`{"c":["agree"]}`), 256)
	if bytes.Equal(a, again) {
		t.Error("the same ballot sealed twice gives the same bytes (no random nonce)")
	}
	plain, err := k.Open(poll, a)
	if err != nil || string(plain) != `{"c":["agree"]}` {
		t.Errorf("Open = %q, %v", plain, err)
	}
	if _, err := k.Open(other, a); err == nil {
		t.Error("a seal opens under another poll")
	}
	if _, err := keys(t).Open(poll, a); err == nil {
		t.Error("a seal opens under another master key")
	}
	a[len(a)-1] ^= 1
	if _, err := k.Open(poll, a); err == nil {
		t.Error("a tampered seal opens")
	}
	if _, err := k.Seal(poll, make([]byte, 253), 256); err == nil {
		t.Error("a ballot larger than the seal size was sealed")
	}
	if bytes.Equal(k.Tag(poll, "R"), k.Tag(other, "R")) || !bytes.Equal(k.Tag(poll, "R"), k.Tag(poll, "R")) {
		t.Error("tags must be per poll and deterministic")
	}
}

func TestKeys(t *testing.T) {
	if _, err := NewKeys(make([]byte, 16)); err == nil {
		t.Error("a 16-byte master key was accepted")
	}
	if _, err := DecodeKey("c2hvcnQ="); err == nil {
		t.Error("a short key decoded")
	}
	if b, err := DecodeKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="); err != nil || len(b) != 32 {
		t.Errorf("DecodeKey: %v %v", b, err)
	}
}

func TestShuffleIsAPermutation(t *testing.T) {
	xs := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	moved := false
	for range 20 {
		if err := Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] }); err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		for i, x := range xs {
			seen[x] = true
			moved = moved || x != i
		}
		if len(seen) != 10 {
			t.Fatalf("not a permutation: %v", xs)
		}
	}
	if !moved {
		t.Error("20 shuffles left 10 items in place")
	}
}

// The per-poll keys are remembered: a second Keys of the same master key
// (a restarted service) must still open what the first sealed and find
// the same tags, and the remembered keys must stay per poll.
func TestRememberedKeysMatchFreshOnes(t *testing.T) {
	master := make([]byte, KeySize)
	_, _ = rand.Read(master)
	a, _ := NewKeys(master)
	b, _ := NewKeys(master)
	const p1, p2 = "0190f3a2-7c4e-7b21-9a3d-5c6e7f801234", "0190f3a2-7c4e-7b21-9a3d-5c6e7f801235"
	for range 3 { // the first round derives, the next ones reuse
		sealed, err := a.Seal(p1, []byte("ballot"), 64)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := b.Open(p1, sealed); err != nil || string(got) != "ballot" {
			t.Fatalf("a fresh Keys opens %q, %v", got, err)
		}
		if _, err := a.Open(p2, sealed); err == nil {
			t.Fatal("a seal of one poll opens under another poll's key")
		}
		if !bytes.Equal(a.Tag(p1, "R"), b.Tag(p1, "R")) || bytes.Equal(a.Tag(p1, "R"), a.Tag(p2, "R")) {
			t.Fatal("tags differ between instances, or agree between polls")
		}
		if !bytes.Equal(a.Owner(p1, "R", "x", ""), b.Owner(p1, "R", "x", "")) || bytes.Equal(a.Owner(p1, "R", "x", ""), a.Tag(p1, "R")) {
			t.Fatal("owner checks differ between instances, or share the tag's key")
		}
	}
}
