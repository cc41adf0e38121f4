package meetings

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/grpcserver"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// registrar records what is registered on it.
type registrar map[string][]string // service -> methods

func (r registrar) RegisterService(sd *grpc.ServiceDesc, _ any) {
	for _, m := range sd.Methods {
		r[sd.ServiceName] = append(r[sd.ServiceName], m.MethodName)
	}
	for _, m := range sd.Streams {
		r[sd.ServiceName] = append(r[sd.ServiceName], m.StreamName)
	}
}

// RegisterOn offers every API Register does, so a process hosting the
// service serves the same methods in process as over TCP.
func TestRegisterOnAddsWhatRegisterDoes(t *testing.T) {
	svc := New(Deps{})
	gs := grpc.NewServer()
	svc.Register(gs)
	want := registrar{}
	for name, info := range gs.GetServiceInfo() {
		for _, m := range info.Methods {
			want[name] = append(want[name], m.Name)
		}
	}
	got := registrar{}
	svc.RegisterOn(got)
	if len(got) != 5 || len(got) != len(want) {
		t.Errorf("RegisterOn added %d services, Register %d; want the same five", len(got), len(want))
	}
	for name, methods := range want {
		slices.Sort(methods)
		slices.Sort(got[name])
		if !slices.Equal(got[name], methods) {
			t.Errorf("%s: RegisterOn added %v, Register %v", name, got[name], methods)
		}
	}
}

// refuse is the fallback connection of a local one: reaching it means the
// call was not served in process.
type refuse struct{ t *testing.T }

func (r refuse) Invoke(_ context.Context, method string, _, _ any, _ ...grpc.CallOption) error {
	r.t.Errorf("%s went to the fallback connection", method)
	return status.Error(codes.Unavailable, "fallback")
}

func (r refuse) NewStream(_ context.Context, _ *grpc.StreamDesc, method string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	r.t.Errorf("%s went to the fallback connection", method)
	return nil, status.Error(codes.Unavailable, "fallback")
}

// The in-process path the documents service takes for a confidential
// paper (-target=all): GetMyParticipation (and GetMeeting, which it asks
// to manage papers) through a grpcserver.Local, called with the context of
// a call being served, answers as the forwarded caller — a participant
// gets their role and finds themselves among the participants, someone
// else is told the meeting does not exist, and a removed participant is
// told so at once.
func TestRegisterOnServesTheForwardedCallerInProcess(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.prepare(t, c, w.draft(t, c))

	signer := testenv.Signer(t)
	gs := grpcserver.New(testenv.Logger(t), identity.NewVerifier(signer.PublicKey()), prometheus.NewRegistry())
	local := grpcserver.NewLocal()
	gs.ServeLocal(local)
	w.svc.RegisterOn(local)
	client := meetingsv1.NewMeetingsServiceClient(local.Conn(refuse{t}, identity.ForwardUnaryClientInterceptor()))

	// served is the context of a call being served for person.
	served := func(person string) context.Context {
		token, err := signer.Sign(identity.Claims{Subject: person, Name: "người dùng", Orgs: c.orgs[person]}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return metadata.NewIncomingContext(t.Context(), metadata.Pairs(identity.MetadataKey, token))
	}
	takesPart := func(person string) (bool, error) {
		resp, err := client.GetMeeting(served(person), &meetingsv1.GetMeetingRequest{MeetingId: m.GetId()})
		return participantByID(resp.GetMeeting(), person) != nil, err
	}

	participation := func(person string) (*meetingsv1.GetMyParticipationResponse, error) {
		return client.GetMyParticipation(served(person), &meetingsv1.GetMyParticipationRequest{MeetingId: m.GetId()})
	}

	if ok, err := takesPart(c.guest); err != nil || !ok {
		t.Errorf("the guest, a participant: among the participants %v (%v), want true", ok, err)
	}
	if p, err := participation(c.guest); err != nil || p.GetRole() != meetingsv1.ParticipantRole_PARTICIPANT_ROLE_GUEST {
		t.Errorf("the guest's participation: %v (%v), want GUEST", p, err)
	}
	_, err := takesPart(c.outsider)
	testenv.Code(t, err, codes.NotFound)
	testenv.Code(t, call2(participation(c.outsider)), codes.NotFound)
	if _, err := w.client.RemoveParticipant(c.adminCtx(), &meetingsv1.RemoveParticipantRequest{MeetingId: m.GetId(), PersonId: c.guest}); err != nil {
		t.Fatal(err)
	}
	_, err = takesPart(c.guest)
	testenv.Code(t, err, codes.NotFound)
	testenv.Code(t, call2(participation(c.guest)), codes.NotFound)
	// Without a token to forward the call is refused, as over TCP.
	_, err = client.GetMeeting(t.Context(), &meetingsv1.GetMeetingRequest{MeetingId: m.GetId()})
	testenv.Code(t, err, codes.Unauthenticated)
	_, err = client.GetMyParticipation(t.Context(), &meetingsv1.GetMyParticipationRequest{MeetingId: m.GetId()})
	testenv.Code(t, err, codes.Unauthenticated)
}
