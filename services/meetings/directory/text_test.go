package directory

import "testing"

func TestNormalizeName(t *testing.T) {
	t.Parallel()
	// Decomposed "ễ" (e + U+0302 circumflex + U+0303 tilde), doubled and
	// surrounding spaces.
	got := normalizeName("  Nguye\u0302\u0303n   Văn  An ")
	if want := "Nguy\u1ec5n Văn An"; got != want {
		t.Errorf("normalizeName = %q, want %q", got, want)
	}
}

func TestNormalizeCard(t *testing.T) {
	t.Parallel()
	if got := normalizeCard(" 12 345 ab-7 "); got != "12345AB-7" {
		t.Errorf("normalizeCard = %q", got)
	}
}
