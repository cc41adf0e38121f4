package video

import (
	"context"
	"errors"
	"fmt"
	"strings"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// api implements videov1.VideoServiceServer. Every handler checks, in
// order: identity, readiness, organisation-level permission (as soon as the
// organisation is known, so a caller without rights learns nothing more),
// request validity, then touches the database.
type api struct {
	videov1.UnimplementedVideoServiceServer
	s *Service
}

// OpenRoom is idempotent per meeting: opening an open room returns it
// unchanged (its mode included) and publishes nothing.
func (a *api) OpenRoom(ctx context.Context, req *videov1.OpenRoomRequest) (*videov1.OpenRoomResponse, error) {
	c, err := rpcerr.Caller(ctx, Name)
	if err != nil {
		return nil, err
	}
	if err := rpcerr.CheckReady(Name, a.s.core.Ready()); err != nil {
		return nil, err
	}
	meetingID, vs := parseID("meeting_id", req.GetMeetingId())
	org, orgVs := parseOrg("organization_id", req.GetOrganizationId())
	if len(orgVs) == 0 && !mayCreateIn(c, org) {
		return nil, status.Errorf(codes.PermissionDenied,
			"%s: opening a room in organisation %q needs administrator rights there", Name, org)
	}
	vs = append(vs, orgVs...)
	switch _, known := videov1.RoomMode_name[int32(req.GetMode())]; {
	case req.GetMode() == videov1.RoomMode_ROOM_MODE_UNSPECIFIED:
		vs = append(vs, rpcerr.Violation{Field: "mode", Reason: rpcerr.ReasonRequired, Description: "must be specified"})
	case !known:
		vs = append(vs, rpcerr.Violation{Field: "mode", Reason: rpcerr.ReasonUnknownValue, Description: fmt.Sprintf("unknown room mode %d", req.GetMode())})
	}
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	notFound := status.Errorf(codes.NotFound, "%s: meeting %s not found in organisation %q", Name, meetingID, org)
	// The meeting must be the organisation's, as the meetings service says
	// to the caller: an administrator elsewhere cannot take another
	// organisation's meeting room first.
	m, err := a.s.meeting(ctx, meetingID)
	if errors.Is(err, errMeetingHidden) || (err == nil && m.GetOrganizationId() != org) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	room, err := a.s.openRoom(ctx, c.Subject, meetingID, org, req.GetMode())
	// A room already open for the meeting under another organisation.
	if errors.Is(err, errNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "OpenRoom", err)
	}
	return &videov1.OpenRoomResponse{Room: room}, nil
}

func (a *api) GetRoom(ctx context.Context, req *videov1.GetRoomRequest) (*videov1.GetRoomResponse, error) {
	c, err := rpcerr.Caller(ctx, Name)
	if err != nil {
		return nil, err
	}
	if err := rpcerr.CheckReady(Name, a.s.core.Ready()); err != nil {
		return nil, err
	}
	meetingID, vs := parseID("meeting_id", req.GetMeetingId())
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	room, err := a.s.getRoom(ctx, meetingID)
	missing := status.Errorf(codes.NotFound, "%s: no room for meeting %s", Name, meetingID)
	if errors.Is(err, errNotFound) {
		return nil, missing
	}
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "GetRoom", err)
	}
	// The organisation's members see its rooms; anyone else only the rooms
	// of meetings they take part in (the higher committee's member attending
	// a cell's meeting from their office), as the meetings service says.
	// Another room is reported exactly like a missing one.
	if !c.InOrg(room.GetOrganizationId()) {
		m, err := a.s.meeting(ctx, meetingID)
		if errors.Is(err, errMeetingHidden) {
			return nil, missing
		}
		if err != nil {
			return nil, err
		}
		if _, ok := participant(m, c.Subject); !ok {
			return nil, missing
		}
	}
	room.ParticipantCount = int32(a.s.rooms.count(meetingID))
	return &videov1.GetRoomResponse{Room: room}, nil
}

// maxOrganizationIDLen bounds an organisation id, counted in bytes: ids are
// machine-made.
const maxOrganizationIDLen = 128

// parseID checks that s is a UUID and returns its canonical form.
func parseID(field, s string) (string, []rpcerr.Violation) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonRequired, Description: "must not be empty"}}
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return "", []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonInvalidFormat, Description: "must be a UUID"}}
	}
	return id.String(), nil
}

// parseOrg trims an organisation id and checks it is present and bounded.
func parseOrg(field, s string) (string, []rpcerr.Violation) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonRequired, Description: "must not be empty"}}
	case len(s) > maxOrganizationIDLen:
		return "", []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonTooLong,
			Description: fmt.Sprintf("must be at most %d characters", maxOrganizationIDLen)}}
	}
	return s, nil
}

// mayCreateIn reports whether c may open rooms for org. Roles are not
// yet scoped per organisation, so org_admin counts in every organisation
// the caller belongs to.
func mayCreateIn(c identity.Claims, org string) bool {
	return c.IsOrgAdmin(org)
}

// IssueJoinToken gives a participant of the meeting a short-lived token for
// its video room. Whether the caller takes part is asked of the meetings
// service with the caller's own identity, every time: someone removed from
// the meeting gets no new token.
func (a *api) IssueJoinToken(ctx context.Context, req *videov1.IssueJoinTokenRequest) (*videov1.IssueJoinTokenResponse, error) {
	c, err := rpcerr.Caller(ctx, Name)
	if err != nil {
		return nil, err
	}
	if err := rpcerr.CheckReady(Name, a.s.core.Ready()); err != nil {
		return nil, err
	}
	meetingID, vs := parseID("meeting_id", req.GetMeetingId())
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	m, err := a.s.meeting(ctx, meetingID)
	if errors.Is(err, errMeetingHidden) {
		return nil, status.Errorf(codes.NotFound, "%s: meeting %s not found", Name, meetingID)
	}
	if err != nil {
		return nil, err
	}
	p, ok := participant(m, c.Subject)
	if !ok {
		return nil, refusal(codes.PermissionDenied, ReasonNotParticipant,
			"only the participants of meeting %s may join its video room", meetingID)
	}
	room, err := a.s.getRoom(ctx, meetingID)
	if errors.Is(err, errNotFound) || (err == nil && (room.GetState() != videov1.RoomState_ROOM_STATE_OPEN ||
		room.GetOrganizationId() != m.GetOrganizationId())) {
		return nil, refusal(codes.FailedPrecondition, ReasonRoomNotOpen, "the video room of meeting %s is not open", meetingID)
	}
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "IssueJoinToken", err)
	}
	perms := permissionsFor(p.GetRole(), room.GetMode())
	name := c.Name
	if name == "" {
		name = p.GetFullName()
	}
	token, expires, err := a.s.issueToken(ctx, meetingID, c.Subject, name, perms)
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "IssueJoinToken", err)
	}
	resp := &videov1.IssueJoinTokenResponse{Token: token, ExpireTime: timestamppb.New(expires), Permissions: perms}
	if e := a.s.engine.Load(); e != nil && e.relay != nil {
		ice, err := e.relay.credentials(c.Subject, a.s.cfg.TURNCredentialTTL)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "%s: TURN credentials: %v", Name, err)
		}
		resp.IceServers = []*videov1.IceServer{ice}
	}
	return resp, nil
}

// ReasonNotRunning: only who runs the meeting may change permissions.
const ReasonNotRunning = "NOT_RUNNING_THE_MEETING"

// SetPermissions promotes or demotes a connected participant.
func (a *api) SetPermissions(ctx context.Context, req *videov1.SetPermissionsRequest) (*videov1.SetPermissionsResponse, error) {
	if _, err := rpcerr.Caller(ctx, Name); err != nil {
		return nil, err
	}
	if err := rpcerr.CheckReady(Name, a.s.core.Ready()); err != nil {
		return nil, err
	}
	meetingID, vs := parseID("meeting_id", req.GetMeetingId())
	participantID, pvs := parseID("participant_id", req.GetParticipantId())
	vs = append(vs, pvs...)
	if req.GetPermissions() == nil {
		vs = append(vs, rpcerr.Violation{Field: "permissions", Reason: rpcerr.ReasonRequired, Description: "must be given (all false: watch only)"})
	}
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	if err := a.mustRun(ctx, meetingID, "change who speaks"); err != nil {
		return nil, err
	}
	perms := &videov1.JoinPermissions{PublishAudio: req.GetPermissions().GetPublishAudio(),
		PublishVideo: req.GetPermissions().GetPublishVideo(), PublishScreen: req.GetPermissions().GetPublishScreen()}
	peer, ok := a.s.setPermissions(meetingID, participantID, perms)
	if !ok {
		return nil, status.Errorf(codes.NotFound, "%s: participant %s is not in the video room of meeting %s", Name, participantID, meetingID)
	}
	return &videov1.SetPermissionsResponse{Peer: peer}, nil
}

// mustRun checks with the meetings service, as the caller, that the caller
// runs the meeting (its chair or minute-taker; org admins count as the
// latter), which what is named needs.
func (a *api) mustRun(ctx context.Context, meetingID, what string) error {
	m, err := a.s.meeting(ctx, meetingID)
	if errors.Is(err, errMeetingHidden) {
		return status.Errorf(codes.NotFound, "%s: meeting %s not found", Name, meetingID)
	}
	if err != nil {
		return err
	}
	switch m.GetMyRole() {
	case meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR, meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER:
		return nil
	}
	return refusal(codes.PermissionDenied, ReasonNotRunning,
		"only the chair or the minute-taker of meeting %s may %s", meetingID, what)
}

// Reasons of recording refusals.
const (
	ReasonAlreadyRecording = "ALREADY_RECORDING"
	ReasonNotRecording     = "NOT_RECORDING"
)

func (a *api) StartRecording(ctx context.Context, req *videov1.StartRecordingRequest) (*videov1.StartRecordingResponse, error) {
	meetingID, err := a.recordingCall(ctx, req.GetMeetingId(), "record the meeting")
	if err != nil {
		return nil, err
	}
	rec, err := a.s.startRecording(meetingID)
	if errors.Is(err, errRecording) {
		return nil, refusal(codes.FailedPrecondition, ReasonAlreadyRecording, "meeting %s is already being recorded", meetingID)
	}
	if err != nil {
		a.s.log.ErrorContext(ctx, "video: cannot start recording", "meeting_id", meetingID, "err", err)
		return nil, status.Errorf(codes.Internal, "%s: cannot start recording", Name)
	}
	return &videov1.StartRecordingResponse{Recording: rec.proto()}, nil
}

func (a *api) StopRecording(ctx context.Context, req *videov1.StopRecordingRequest) (*videov1.StopRecordingResponse, error) {
	meetingID, err := a.recordingCall(ctx, req.GetMeetingId(), "stop the recording")
	if err != nil {
		return nil, err
	}
	rec, files, err := a.s.stopRecording(meetingID)
	if errors.Is(err, errNotRecording) {
		return nil, refusal(codes.FailedPrecondition, ReasonNotRecording, "meeting %s is not being recorded", meetingID)
	}
	if err != nil {
		return nil, err
	}
	if a.s.d.Documents != nil && len(rec.GetTracks()) > 0 {
		// In the background: the files may be large, and the chair's
		// request should not wait for them. A failure to list them is
		// logged; the files stay on the node.
		if _, err := a.s.deliverRecordings(ctx, meetingID, files...); err != nil {
			a.s.log.ErrorContext(ctx, "video: cannot deliver a stopped recording", "meeting_id", meetingID, "err", err)
		}
	}
	return &videov1.StopRecordingResponse{Recording: rec}, nil
}

func (a *api) DeliverRecordings(ctx context.Context, req *videov1.DeliverRecordingsRequest) (*videov1.DeliverRecordingsResponse, error) {
	// The room may be closed by now: the meeting's recordings are still
	// its chair's to deliver.
	meetingID, err := a.runCall(ctx, req.GetMeetingId(), "deliver its recordings")
	if err != nil {
		return nil, err
	}
	if a.s.d.Documents == nil {
		return nil, status.Errorf(codes.FailedPrecondition,
			"%s: recordings stay on the video node: this video service has no documents service to deliver them to (DOCUMENTS_ADDR)", Name)
	}
	files, err := a.s.deliverRecordings(ctx, meetingID)
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "DeliverRecordings", err)
	}
	return &videov1.DeliverRecordingsResponse{Files: files}, nil
}

// runCall checks a call only who runs the meeting may make: identity,
// readiness, the meeting id, and that the caller runs the meeting.
func (a *api) runCall(ctx context.Context, rawID, what string) (string, error) {
	if _, err := rpcerr.Caller(ctx, Name); err != nil {
		return "", err
	}
	if err := rpcerr.CheckReady(Name, a.s.core.Ready()); err != nil {
		return "", err
	}
	meetingID, vs := parseID("meeting_id", rawID)
	if len(vs) > 0 {
		return "", rpcerr.Invalid(Name, vs)
	}
	return meetingID, a.mustRun(ctx, meetingID, what)
}

// recordingCall is runCall for recording: the meeting's room must also be
// open.
func (a *api) recordingCall(ctx context.Context, rawID, what string) (string, error) {
	meetingID, err := a.runCall(ctx, rawID, what)
	if err != nil {
		return "", err
	}
	room, err := a.s.getRoom(ctx, meetingID)
	if errors.Is(err, errNotFound) || (err == nil && room.GetState() != videov1.RoomState_ROOM_STATE_OPEN) {
		return "", refusal(codes.FailedPrecondition, ReasonRoomNotOpen, "the video room of meeting %s is not open", meetingID)
	}
	if err != nil {
		return "", rpcerr.FromStore(ctx, a.s.log, Name, "Recording", err)
	}
	return meetingID, nil
}
