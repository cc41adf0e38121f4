package meetings

import (
	"context"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// The authorisation tests walk MeetingsService's descriptor, so a new RPC
// is covered (and must be classified below) without anyone remembering to.

func rpcMethods() []protoreflect.MethodDescriptor {
	sd := meetingsv1.File_ecabinet_meetings_v1_meetings_proto.Services().ByName("MeetingsService")
	var out []protoreflect.MethodDescriptor
	for i := range sd.Methods().Len() {
		out = append(out, sd.Methods().Get(i))
	}
	return out
}

// request is md's request message with only meeting_id set (if it has
// one): enough to reach the access checks, which come before validation.
func request(md protoreflect.MethodDescriptor, meetingID string) proto.Message {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
	if err != nil {
		panic(err)
	}
	m := mt.New()
	if f := md.Input().Fields().ByName("meeting_id"); f != nil {
		m.Set(f, protoreflect.ValueOfString(meetingID))
	}
	return m.Interface()
}

func (w *world) invoke(ctx context.Context, md protoreflect.MethodDescriptor, req proto.Message) error {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if err != nil {
		panic(err)
	}
	return w.conn.Invoke(ctx, "/"+string(md.Parent().FullName())+"/"+string(md.Name()), req, mt.New().Interface())
}

// callHandler calls the handler directly, without the gRPC server and its
// interceptors.
func callHandler(a *api, ctx context.Context, md protoreflect.MethodDescriptor, req proto.Message) error {
	for _, m := range meetingsv1.MeetingsService_ServiceDesc.Methods {
		if m.MethodName == string(md.Name()) {
			_, err := m.Handler(a, ctx, func(in any) error { proto.Merge(in.(proto.Message), req); return nil }, nil)
			return err
		}
	}
	panic("no handler for " + md.Name())
}

type rpcKind int

const (
	noMeeting rpcKind = iota // creates or lists
	reads                    // anyone who may see the meeting
	ownAnswer                // a participant acting for themself
	runs                     // chair, minute-taker or organisation administrator
	ownPart                  // answers participants only; NotFound to everyone else
)

var rpcKinds = map[protoreflect.Name]rpcKind{
	"CreateMeeting": noMeeting, "ListMeetings": noMeeting, "ListMyMeetings": noMeeting,
	"GetMeeting": reads, "GetInvitationCalendar": reads, "GetMyParticipation": ownPart,
	"RespondToInvitation": ownAnswer, "CheckIn": ownAnswer,
	"UpdateMeeting": runs, "ScheduleMeeting": runs, "StartMeeting": runs, "EndMeeting": runs, "CancelMeeting": runs,
	"RescheduleMeeting": runs, "AddAgendaItem": runs, "UpdateAgendaItem": runs, "RemoveAgendaItem": runs,
	"ReorderAgenda": runs, "SetCurrentAgendaItem": runs, "AddParticipants": runs, "UpdateParticipant": runs,
	"RemoveParticipant": runs, "SetDelegate": runs, "IssueCheckInToken": runs, "MarkAttendance": runs,
	"RequestToSpeak": ownAnswer, "WithdrawSpeakRequest": ownAnswer, "UpdateSpeaker": runs,
}

func TestEveryRPCIsClassified(t *testing.T) {
	for _, md := range rpcMethods() {
		if _, ok := rpcKinds[md.Name()]; !ok {
			t.Errorf("RPC %s has no authorisation class in rpcKinds", md.Name())
		}
	}
}

func TestUnauthenticated(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background() // no claims: the client sends no token
	a := &api{s: w.svc}
	for _, md := range rpcMethods() {
		req := request(md, uuid.NewString())
		if err := w.invoke(ctx, md, req); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s without a token: %v", md.Name(), err)
		}
		// The handlers refuse on their own too, should the interceptor be missing.
		if err := callHandler(a, ctx, md, req); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s handler without identity: %v", md.Name(), err)
		}
	}
}

// Every RPC against one meeting, by every kind of caller.
func TestAuthorisationForEveryRPC(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.scheduled(t, c)
	id := m.GetId()

	type caller struct {
		name   string
		ctx    context.Context
		sees   bool // else NotFound
		part   bool // a participant
		runs   bool
		claims identity.Claims
	}
	callers := []caller{
		{name: "member of another organisation", ctx: c.as(c.outsider)},
		{name: "administrator of another organisation", ctx: testenv.As(adminOf(c.other))},
		{name: "person in no organisation", ctx: c.as(c.guest + "-not-invited")},
		{name: "plain member, participant", ctx: c.as(c.m1), sees: true, part: true},
		{name: "member of the organisation, not invited", ctx: testenv.As(memberClaims(c.org)), sees: true},
		{name: "observer from the bloc committee", ctx: c.as(c.observer), sees: true, part: true},
		{name: "invited guest from outside", ctx: c.as(c.guest), sees: true, part: true},
		// Allowed callers last: their calls may change the meeting.
		{name: "chair", ctx: c.as(c.chair), sees: true, part: true, runs: true},
		{name: "minute-taker", ctx: c.as(c.taker), sees: true, part: true, runs: true},
		{name: "administrator of the organisation", ctx: c.adminCtx(), sees: true, runs: true},
		{name: "administrator of the bloc committee above", ctx: testenv.As(c.parentAdmin), sees: true, runs: true},
		{name: "system administrator", ctx: testenv.As(systemAdmin()), sees: true, runs: true},
	}
	for _, who := range callers {
		for _, md := range rpcMethods() {
			kind := rpcKinds[md.Name()]
			if kind == noMeeting {
				continue
			}
			err := w.invoke(who.ctx, md, request(md, id))
			code := status.Code(err)
			var want codes.Code = codes.OK // OK: anything but NotFound/PermissionDenied
			switch {
			case !who.sees, kind == ownPart && !who.part:
				want = codes.NotFound
			case kind == runs && !who.runs, kind == ownAnswer && !who.part:
				want = codes.PermissionDenied
			}
			if want != codes.OK && code != want {
				t.Errorf("%s: %s = %v, want %v", who.name, md.Name(), err, want)
			}
			if want == codes.OK && (code == codes.NotFound || code == codes.PermissionDenied || code == codes.Unauthenticated) {
				t.Errorf("%s: %s refused: %v", who.name, md.Name(), err)
			}
		}
	}
}
