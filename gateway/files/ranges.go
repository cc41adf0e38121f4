package files

import (
	"errors"
	"strconv"
	"strings"
)

// byteRange is a resolved range: first and last byte, inclusive.
type byteRange struct{ first, last int64 }

func (b byteRange) length() int64 { return b.last - b.first + 1 }

// rangeSpec is one range-spec of a Range header before it meets a size:
// first-last, first- (to the end) or -suffix (the last suffix bytes).
type rangeSpec struct {
	first, last int64 // last < 0: open-ended
	suffix      int64 // > 0: a suffix range; first and last unused
}

var errMalformedRange = errors.New("malformed Range header")

// parseRange reads a Range header value (RFC 9110 §14.1.1). ok is false
// when the range unit is not "bytes": such a header is ignored (§14.2). A
// bytes range with a syntax error is errMalformedRange, which is answered
// 416 like an unsatisfiable one (RFC 9110 lets a server ignore or reject
// it; rejecting tells a broken client).
func parseRange(h string) (specs []rangeSpec, ok bool, err error) {
	unit, set, found := strings.Cut(h, "=")
	if !found || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return nil, false, nil
	}
	for part := range strings.SplitSeq(set, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue // RFC 9110 allows empty list elements
		}
		a, b, found := strings.Cut(part, "-")
		if !found {
			return nil, true, errMalformedRange
		}
		if a == "" {
			n, err := digits(b)
			if err != nil || n == 0 {
				return nil, true, errMalformedRange
			}
			specs = append(specs, rangeSpec{suffix: n})
			continue
		}
		first, err := digits(a)
		if err != nil {
			return nil, true, errMalformedRange
		}
		last := int64(-1)
		if b != "" {
			if last, err = digits(b); err != nil || last < first {
				return nil, true, errMalformedRange
			}
		}
		specs = append(specs, rangeSpec{first: first, last: last})
	}
	if len(specs) == 0 {
		return nil, true, errMalformedRange
	}
	return specs, true, nil
}

// digits parses 1*DIGIT (no sign, no spaces).
func digits(s string) (int64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errMalformedRange
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errMalformedRange
	}
	return n, nil
}

// resolve applies specs to a representation of size bytes and returns the
// satisfiable ranges (§14.1.2): a first position past the end is
// unsatisfiable, a last position past the end is clamped, a suffix longer
// than the representation takes all of it.
func resolve(specs []rangeSpec, size int64) []byteRange {
	var out []byteRange
	for _, s := range specs {
		switch {
		case s.suffix > 0:
			if size == 0 {
				continue
			}
			out = append(out, byteRange{max(size-s.suffix, 0), size - 1})
		case s.first >= size:
			continue
		default:
			last := s.last
			if last < 0 || last >= size {
				last = size - 1
			}
			out = append(out, byteRange{s.first, last})
		}
	}
	return out
}

// continuation reports whether a Range header asks for something other
// than the beginning of the file: a viewer fetching later pages of a file
// it has open (recorded as ACCESS_KIND_RANGE rather than as a new view).
func continuation(h string) bool {
	specs, ok, err := parseRange(h)
	if !ok || err != nil || len(specs) == 0 {
		return false
	}
	return specs[0].suffix > 0 || specs[0].first > 0
}
