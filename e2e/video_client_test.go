package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ecabinet/ecabinet/e2e/suite"
	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/video/videotest"
)

// wsSignal is the gateway's signaling WebSocket as a videotest.Transport:
// JSON frames each way, as a browser sends and reads them.
type wsSignal struct {
	ctx  context.Context
	conn *websocket.Conn
}

// sessionEnd is the gateway's last frame, returned by Recv as an error.
type sessionEnd struct {
	Code    string `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func (e *sessionEnd) Error() string {
	return fmt.Sprintf("session ended: %s %s: %s", e.Code, e.Reason, e.Message)
}

// dialSignal opens the signaling socket of a meeting with a bearer token;
// it returns the HTTP status when the upgrade is refused.
func dialSignal(t *testing.T, p *suite.Process, meetingID, bearer string) (*wsSignal, int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := http.Header{}
	if bearer != "" {
		h.Set("Authorization", "Bearer "+bearer)
	}
	url := "ws" + strings.TrimPrefix(p.BaseURL, "http") + "/api/v1/meetings/" + meetingID + "/video/signal"
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		if resp != nil {
			return nil, resp.StatusCode
		}
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &wsSignal{ctx: ctx, conn: conn}, http.StatusSwitchingProtocols
}

func (s *wsSignal) Send(m *videov1.SignalRequest) error {
	b, err := protojson.Marshal(m)
	if err != nil {
		return err
	}
	return s.conn.Write(s.ctx, websocket.MessageText, b)
}

func (s *wsSignal) Recv() (*videov1.SignalResponse, error) {
	_, b, err := s.conn.Read(s.ctx)
	if err != nil {
		return nil, err
	}
	var end struct {
		End *sessionEnd `json:"end"`
	}
	if err := json.Unmarshal(b, &end); err == nil && end.End != nil {
		return nil, end.End
	}
	var m videov1.SignalResponse
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("frame %s: %w", b, err)
	}
	return &m, nil
}

var _ videotest.Transport = (*wsSignal)(nil)

// endOf is the session end an error carries, or fails the test.
func endOf(t *testing.T, err error) *sessionEnd {
	t.Helper()
	e, ok := err.(*sessionEnd)
	if !ok {
		t.Fatalf("got %v, want the gateway's end frame", err)
	}
	return e
}
