package videotest

import "testing"

func TestLossAcrossSequenceWrap(t *testing.T) {
	r := &Received{seqs: map[uint64]struct{}{}}
	// 65530 … 65535, 0 … 9 with 3 and 65533 missing, and one late packet.
	for s := 65530; s < 65536+10; s++ {
		if seq := uint16(s); seq != 3 && seq != 65533 && seq != 65531 {
			r.record(seq)
		}
	}
	r.record(65531) // late, after the wrap
	loss, expected := r.Loss()
	if expected != 16 {
		t.Errorf("expected %d packets, want 16", expected)
	}
	if want := 2.0 / 16; loss < want-1e-9 || loss > want+1e-9 {
		t.Errorf("loss %v, want %v", loss, want)
	}
	r.Reset()
	if loss, n := r.Loss(); loss != 0 || n != 0 {
		t.Errorf("after reset: loss %v over %d", loss, n)
	}
}
