package identity

import "time"

// SetClock makes s mint tokens as if the time were now(); tests use it to
// make expired tokens without waiting.
func (s *Signer) SetClock(now func() time.Time) { s.now = now }
