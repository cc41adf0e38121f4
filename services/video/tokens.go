package video

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
)

// Stable reasons of refusals (ErrorInfo.reason on the status; the gateway's
// signaling bridge passes them to the client).
const (
	ReasonTokenInvalid      = "JOIN_TOKEN_INVALID"
	ReasonTokenExpired      = "JOIN_TOKEN_EXPIRED"
	ReasonTokenWrongMeeting = "JOIN_TOKEN_WRONG_MEETING"
	ReasonTokenNotYours     = "JOIN_TOKEN_NOT_YOURS"
	ReasonNotParticipant    = "NOT_A_PARTICIPANT"
	ReasonRoomNotOpen       = "ROOM_NOT_OPEN"
	ReasonTooManyRooms      = "TOO_MANY_ROOMS"
	ReasonRoomFull          = "ROOM_FULL"
	ReasonOfferTimeout      = "OFFER_TIMEOUT"
	ReasonConnectionLost    = "CONNECTION_LOST"
	ReasonSlowClient        = "SLOW_CLIENT"
	ReasonJoinFirst         = "JOIN_FIRST"
	ReasonJoinTimeout       = "JOIN_TIMEOUT"
	ReasonResumeUnknown     = "RESUME_UNKNOWN"
	ReasonSessionReplaced   = "SESSION_REPLACED"
	ReasonJoinedElsewhere   = "JOINED_ELSEWHERE"
)

// refusal is a status carrying a stable reason in ErrorInfo.
func refusal(code codes.Code, reason, format string, args ...any) error {
	st := status.New(code, Name+": "+fmt.Sprintf(format, args...))
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "video.ecabinet"}); err == nil {
		st = d
	}
	return st.Err()
}

// joinToken is what a stored token grants.
type joinToken struct {
	meetingID string
	personID  string
	name      string
	perms     *videov1.JoinPermissions
	expires   time.Time
}

// tokenBytes of randomness: 256 bits, beyond guessing.
const tokenBytes = 32

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// permissionsFor decides what a participant may do in the room from their
// role in the meeting. Members and those who run the meeting speak and
// show; observers (the higher committee at a cell meeting) and guests
// watch, until promoted (a later feature). In a bridge-point conference
// only the main hall, i.e. who runs the meeting, publishes.
func permissionsFor(role meetingsv1.ParticipantRole, mode videov1.RoomMode) *videov1.JoinPermissions {
	all := &videov1.JoinPermissions{PublishAudio: true, PublishVideo: true, PublishScreen: true}
	switch role {
	case meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR, meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER:
		return all
	case meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MEMBER:
		if mode == videov1.RoomMode_ROOM_MODE_BRIDGE_POINTS {
			return &videov1.JoinPermissions{}
		}
		return all
	}
	return &videov1.JoinPermissions{}
}

// issueToken stores a new token for person and returns it.
func (s *Service) issueToken(ctx context.Context, meetingID, person, name string, perms *videov1.JoinPermissions) (string, time.Time, error) {
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", time.Time{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	var expires time.Time
	// Expired tokens are swept as new ones are issued, so the table stays
	// as small as the tokens in use.
	err := pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM join_tokens WHERE expire_time < now() - interval '1 hour'`); err != nil {
			return fmt.Errorf("sweep tokens: %w", err)
		}
		return tx.QueryRow(ctx, `
			INSERT INTO join_tokens (token_hash, meeting_id, person_id, display_name, publish_audio, publish_video, publish_screen, expire_time)
			VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8))
			RETURNING expire_time`,
			hashToken(token), meetingID, person, name, perms.GetPublishAudio(), perms.GetPublishVideo(), perms.GetPublishScreen(),
			s.cfg.JoinTokenTTL.Seconds()).Scan(&expires)
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return token, expires, nil
}

var errTokenUnknown = errors.New("join token unknown")

// lookupToken finds a token; expiry is judged by the database clock, the
// same clock that set it.
func (s *Service) lookupToken(ctx context.Context, token string) (joinToken, bool, error) {
	var t joinToken
	var audio, video, screen, expired bool
	err := s.d.Pool.QueryRow(ctx, `
		SELECT meeting_id, person_id, display_name, publish_audio, publish_video, publish_screen, expire_time, expire_time <= now()
		FROM join_tokens WHERE token_hash = $1`, hashToken(token)).
		Scan(&t.meetingID, &t.personID, &t.name, &audio, &video, &screen, &t.expires, &expired)
	if errors.Is(err, pgx.ErrNoRows) {
		return joinToken{}, false, errTokenUnknown
	}
	if err != nil {
		return joinToken{}, false, err
	}
	t.perms = &videov1.JoinPermissions{PublishAudio: audio, PublishVideo: video, PublishScreen: screen}
	return t, expired, nil
}

// reasonOf is the stable reason of a status detail, if it carries one.
func reasonOf(d any) (string, bool) {
	if ei, ok := d.(*errdetails.ErrorInfo); ok {
		return ei.GetReason(), true
	}
	return "", false
}
