package main

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings"
	"github.com/ecabinet/ecabinet/services/platform/grpcserver"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// host hands a service's API to the in-process registry only if the
// service offers RegisterOn; the meetings service must, or the other
// services' calls to it silently go back to TCP.
var _ interface{ RegisterOn(grpc.ServiceRegistrar) } = (*meetings.Service)(nil)

// whoAsks answers GetMeeting with the subject the service authenticated
// (Id) and where it runs (Title), counting its calls.
type whoAsks struct {
	meetingsv1.UnimplementedMeetingsServiceServer
	where string
	mu    sync.Mutex
	calls int
}

func (w *whoAsks) GetMeeting(ctx context.Context, _ *meetingsv1.GetMeetingRequest) (*meetingsv1.GetMeetingResponse, error) {
	w.mu.Lock()
	w.calls++
	w.mu.Unlock()
	c, _ := identity.FromContext(ctx)
	return &meetingsv1.GetMeetingResponse{Meeting: &meetingsv1.Meeting{Id: c.Subject, Title: w.where}}, nil
}

func (w *whoAsks) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls
}

// TestServicesCallMeetingsInProcessOnlyWhenItIsHere: the documents, voting
// and video services reach the meetings service through app.meetingsConn.
// With the meetings service in the process at the address they would dial
// (-target=all), a call runs in process as the caller being served (its
// token forwarded and verified by the server's interceptors, as over TCP)
// and nothing crosses TCP; with the meetings service elsewhere (another
// target, or MEETINGS_ADDR naming another address) the call goes over TCP,
// forwarded the same way.
func TestServicesCallMeetingsInProcessOnlyWhenItIsHere(t *testing.T) {
	signer := testenv.Signer(t)
	verifier := identity.NewVerifier(signer.PublicKey())

	// The meetings service across the network.
	remote := &whoAsks{where: "tcp"}
	rs := grpcserver.New(testenv.Logger(t), verifier, prometheus.NewRegistry())
	meetingsv1.RegisterMeetingsServiceServer(rs.Server, remote)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Run(t, func(ctx context.Context) error { return rs.Serve(ctx, lis) })
	remoteAddr := lis.Addr().String()

	token, err := signer.Sign(identity.Claims{Subject: "person-1", Name: "Đảng viên"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// The context of a call the documents service is serving: the caller's
	// token in its incoming metadata.
	served := metadata.NewIncomingContext(t.Context(), metadata.Pairs(identity.MetadataKey, token))

	for _, tc := range []struct {
		name, target, grpcAddr, meetingsAddr string
		wantLocal                            bool
	}{
		{"all, default address", "all", remoteAddr, remoteAddr, true},
		{"documents alone", "documents", remoteAddr, remoteAddr, false},
		{"all, MEETINGS_ADDR elsewhere", "all", "127.0.0.1:1", remoteAddr, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(io.Discard, func(string) (string, bool) { return "", false })
			t.Cleanup(a.close)
			if a.targets, err = resolve(a.mods, tc.target); err != nil {
				t.Fatal(err)
			}
			a.cfg.grpc.Addr = tc.grpcAddr
			// What initGRPC and host do for the meetings service of this
			// process (a stand-in here, to tell the paths apart).
			a.grpc = grpcserver.New(testenv.Logger(t), verifier, prometheus.NewRegistry())
			a.grpc.ServeLocal(a.local)
			here := &whoAsks{where: "in process"}
			if tc.target == "all" {
				meetingsv1.RegisterMeetingsServiceServer(a.local, here)
			}

			conn, err := a.meetingsConn(tc.meetingsAddr)
			if err != nil {
				t.Fatal(err)
			}
			client := meetingsv1.NewMeetingsServiceClient(conn)
			before := remote.count()
			resp, err := client.GetMeeting(served, &meetingsv1.GetMeetingRequest{MeetingId: "m1"})
			if err != nil {
				t.Fatal(err)
			}
			want, tcp := "tcp", 1
			if tc.wantLocal {
				want, tcp = "in process", 0
			}
			if got := resp.GetMeeting(); got.GetId() != "person-1" || got.GetTitle() != want {
				t.Errorf("served %s to %q; want %s to the forwarded caller person-1", got.GetTitle(), got.GetId(), want)
			}
			if got := remote.count() - before; got != tcp {
				t.Errorf("%d calls crossed TCP, want %d", got, tcp)
			}
			// No token to forward (a background job): refused by the
			// server's identity check, in process as over TCP.
			_, err = client.GetMeeting(t.Context(), &meetingsv1.GetMeetingRequest{MeetingId: "m1"})
			if status.Code(err) != codes.Unauthenticated {
				t.Errorf("call without a caller's token: %v, want Unauthenticated", err)
			}
		})
	}
}
