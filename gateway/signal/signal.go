// Package signal bridges a browser's WebRTC signaling WebSocket to the
// video service's Signal stream (gRPC), one stream per socket.
//
// GET /api/v1/meetings/{meeting_id}/video/signal upgrades to a WebSocket
// once the caller is authenticated (session cookie or bearer token, as for
// the REST API). Each text frame the client sends is one
// ecabinet.video.v1.SignalRequest in protojson; each frame it receives is
// one SignalResponse, except the last, which says why the session ended:
//
//	{"end": {"code": "PERMISSION_DENIED", "reason": "JOIN_TOKEN_EXPIRED", "message": "..."}}
//
// (code is the gRPC code name, "OK" after a normal leave; reason the stable
// reason when there is one). The meeting id of join is taken from the URL.
// A frame that is not a SignalRequest gets an error frame
// ({"error": {"reason": "INVALID_MESSAGE", ...}}) and the session goes on.
package signal

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ecabinet/ecabinet/gateway/problem"
	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// Route is the signaling endpoint.
const Route = "GET /api/v1/meetings/{meeting_id}/video/signal"

const (
	// maxFrame bounds one client frame: an offer with many sections is a
	// few tens of KiB.
	maxFrame = 256 << 10
	// writeTimeout bounds one frame to the client; a client that cannot
	// take one in this time is treated as gone.
	writeTimeout = 10 * time.Second
	// pingInterval keeps idle sockets open through proxies and finds dead
	// ones.
	pingInterval = 25 * time.Second
)

// ReasonInvalidMessage: a frame that is not a SignalRequest.
const ReasonInvalidMessage = "INVALID_MESSAGE"

// Deps are what the bridge needs from the gateway.
type Deps struct {
	Log          *slog.Logger
	Video        videov1.VideoServiceClient
	Authenticate func(*http.Request) (identity.Claims, error)
}

// Handler serves the signaling WebSocket.
type Handler struct {
	d Deps
}

func New(d Deps) *Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Handler{d: d}
}

// Register adds the route to mux; wrap adds the gateway's metrics.
func (h *Handler) Register(mux *http.ServeMux, wrap func(string, http.Handler) http.Handler) {
	mux.Handle(Route, wrap("video-signal", h))
}

var (
	unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}
	marshal   = protojson.MarshalOptions{}
)

// endFrame is the last frame of a session.
type endFrame struct {
	End endInfo `json:"end"`
}

type endInfo struct {
	Code    string `json:"code"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	claims, err := h.d.Authenticate(r)
	if err != nil {
		// The accounts service not answering is an outage, not a
		// sign-out.
		if c := status.Code(err); c == codes.Unavailable || c == codes.DeadlineExceeded {
			writeProblem(w, r, http.StatusServiceUnavailable, "Unavailable", "")
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="ecabinet"`)
		writeProblem(w, r, http.StatusUnauthorized, "Unauthenticated", "")
		return
	}
	meetingID := r.PathValue("meeting_id")

	// Accept checks that a browser's Origin is this host, so another site
	// cannot open the socket with the user's cookie.
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered the request
	}
	defer conn.CloseNow()
	conn.SetReadLimit(maxFrame)

	ctx, cancel := context.WithCancel(identity.NewContext(r.Context(), claims))
	defer cancel()
	stream, err := h.d.Video.Signal(ctx)
	if err != nil {
		h.end(conn, err)
		return
	}
	log := h.d.Log.With("meeting_id", meetingID, "sub", claims.Subject)

	var wmu sync.Mutex
	write := func(data []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		wctx, wcancel := context.WithTimeout(ctx, writeTimeout)
		defer wcancel()
		return conn.Write(wctx, websocket.MessageText, data)
	}

	// Client → service. When the client goes, the stream is closed and
	// the context cancelled: the service then frees the seat.
	go func() {
		defer cancel()
		for {
			typ, data, err := conn.Read(ctx)
			if err != nil {
				_ = stream.CloseSend()
				return
			}
			var m videov1.SignalRequest
			if typ != websocket.MessageText {
				err = errors.New("frames must be text (JSON)")
			} else {
				err = unmarshal.Unmarshal(data, &m)
			}
			if err != nil {
				frame, _ := marshal.Marshal(&videov1.SignalResponse{Message: &videov1.SignalResponse_Error{Error: &videov1.SignalError{
					Reason: ReasonInvalidMessage, Message: "not a SignalRequest: " + err.Error()}}})
				if write(frame) != nil {
					return
				}
				continue
			}
			if j := m.GetJoin(); j != nil {
				j.MeetingId = meetingID
			}
			if err := stream.Send(&m); err != nil {
				return // Recv below reports why
			}
		}
	}()

	go func() {
		t := time.NewTicker(pingInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				pctx, pcancel := context.WithTimeout(ctx, writeTimeout)
				err := conn.Ping(pctx)
				pcancel()
				if err != nil {
					cancel()
					return
				}
			}
		}
	}()

	// Service → client.
	for {
		m, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			if ctx.Err() == nil {
				log.Debug("video signal: session ended", "err", err)
				h.end(conn, err)
			}
			return
		}
		frame, err := marshal.Marshal(m)
		if err != nil {
			log.Error("video signal: cannot encode", "err", err)
			continue
		}
		if err := write(frame); err != nil {
			return
		}
	}
}

// end sends the end frame for err (nil: a normal end) and closes.
func (h *Handler) end(conn *websocket.Conn, err error) {
	st := status.Convert(err)
	info := endInfo{Code: codeName(st.Code()), Message: st.Message()}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info.Reason = d.GetReason()
		case *errdetails.BadRequest:
			if info.Reason == "" && len(d.GetFieldViolations()) > 0 {
				info.Reason = d.GetFieldViolations()[0].GetReason()
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if frame, mErr := json.Marshal(endFrame{End: info}); mErr == nil {
		_ = conn.Write(ctx, websocket.MessageText, frame)
	}
	reason := info.Reason
	if reason == "" {
		reason = info.Code
	}
	_ = conn.Close(closeStatus(st.Code()), reason)
}

// codeName is the gRPC code in the upper-case form the REST errors use.
func codeName(c codes.Code) string {
	names := map[codes.Code]string{
		codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN", codes.InvalidArgument: "INVALID_ARGUMENT",
		codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
		codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
		codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED", codes.OutOfRange: "OUT_OF_RANGE",
		codes.Unimplemented: "UNIMPLEMENTED", codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE",
		codes.DataLoss: "DATA_LOSS", codes.Unauthenticated: "UNAUTHENTICATED",
	}
	if n, ok := names[c]; ok {
		return n
	}
	return c.String()
}

// closeStatus: a normal end, "try again later" for what may pass
// (limits, outages), a policy violation for refusals, an internal error
// otherwise.
func closeStatus(c codes.Code) websocket.StatusCode {
	switch c {
	case codes.OK, codes.Canceled:
		return websocket.StatusNormalClosure
	case codes.Unavailable, codes.ResourceExhausted:
		return websocket.StatusTryAgainLater
	case codes.Internal, codes.Unknown, codes.DataLoss:
		return websocket.StatusInternalError
	}
	return websocket.StatusPolicyViolation
}

func writeProblem(w http.ResponseWriter, r *http.Request, httpStatus int, code, detail string) {
	d := problem.New(r, httpStatus, code)
	d.Detail = detail
	problem.Write(w, d)
}
