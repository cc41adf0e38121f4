package domain

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
)

// CheckInTokenTTL is how long a check-in QR code stays valid: long enough
// to scan it from the room's screen, too short for yesterday's screenshot.
const CheckInTokenTTL = 5 * time.Minute

// Why a check-in token is refused.
var (
	ErrTokenInvalid      = errors.New("check-in code is not valid: it was not issued by this system or has been altered")
	ErrTokenOtherMeeting = errors.New("check-in code belongs to another meeting")
	ErrTokenExpired      = errors.New("check-in code has expired; scan the code currently shown in the room")
)

// checkInDomain separates these MACs from any other use of the secret.
const checkInDomain = "ecabinet/check-in/v1\x00"

// SignCheckIn returns a token proving that whoever holds it saw the
// meeting's QR code before expires: base64url(meeting id (16 bytes) ||
// expiry in Unix seconds (8 bytes)) "." base64url(HMAC-SHA256). The meeting
// id travels inside so a token scanned in the wrong meeting can be named as
// such; the MAC covers it, so it cannot be swapped.
func SignCheckIn(secret []byte, meetingID string, expires time.Time) (string, error) {
	id, err := uuid.Parse(meetingID)
	if err != nil {
		return "", errors.New("check-in token: meeting id is not a UUID")
	}
	payload := make([]byte, 24)
	copy(payload, id[:])
	binary.BigEndian.PutUint64(payload[16:], uint64(expires.Unix()))
	return base64.RawURLEncoding.EncodeToString(payload) + "." +
		base64.RawURLEncoding.EncodeToString(checkInMAC(secret, payload)), nil
}

func checkInMAC(secret, payload []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(checkInDomain))
	m.Write(payload)
	return m.Sum(nil)
}

// VerifyCheckIn checks token for meetingID at now. The MAC is checked
// first, so nothing in a forged token is believed; then the meeting; then
// the expiry (which is exclusive: a token is dead at its expiry second).
func VerifyCheckIn(secret []byte, token, meetingID string, now time.Time) error {
	p, m, ok := strings.Cut(strings.TrimSpace(token), ".")
	if !ok {
		return ErrTokenInvalid
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(m)
	if err1 != nil || err2 != nil || len(payload) != 24 {
		return ErrTokenInvalid
	}
	if !hmac.Equal(mac, checkInMAC(secret, payload)) {
		return ErrTokenInvalid
	}
	want, err := uuid.Parse(meetingID)
	if err != nil || !hmac.Equal(payload[:16], want[:]) {
		return ErrTokenOtherMeeting
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(payload[16:])), 0)
	if !now.Before(exp) {
		return ErrTokenExpired
	}
	return nil
}

// CheckInPath is what the room's QR code encodes: the web app's check-in
// page with the meeting and the token.
func CheckInPath(meetingID, token string) string {
	return "/checkin?meeting=" + meetingID + "&token=" + token
}
