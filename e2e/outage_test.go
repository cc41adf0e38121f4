package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ecabinet/ecabinet/e2e/suite"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

func checkState(name string, wantOK bool) func(suite.Readiness) bool {
	return func(r suite.Readiness) bool {
		for _, c := range r.Checks {
			if c.Name == name {
				return c.OK == wantOK && (wantOK || !r.Ready)
			}
		}
		return false
	}
}

func TestDependenciesDownAtStartAreReportedAndRecoverBySelf(t *testing.T) {
	env := suite.Env(t)
	dbURL, _ := url.Parse(env["DATABASE_URL"])
	pgProxy := suite.NewProxy(t, dbURL.Host)
	dbURL.Host = pgProxy.Addr
	env["DATABASE_URL"] = dbURL.String()
	s3Proxy := suite.NewProxy(t, env["S3_ENDPOINT"])
	env["S3_ENDPOINT"] = s3Proxy.Addr
	pgProxy.Block()
	s3Proxy.Block()

	p := suite.Start(t, "all", env)
	r := p.WaitReadyz(t, func(r suite.Readiness) bool {
		pgOK, _ := r.Check(t, "postgres")
		s3OK, _ := r.Check(t, "minio")
		natsOK, _ := r.Check(t, "nats")
		return !r.Ready && !pgOK && !s3OK && natsOK
	})
	if _, code, _ := p.Readyz(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz status %d while dependencies are down, want 503", code)
	}
	if ok, _ := r.Check(t, "gateway"); !ok {
		t.Errorf("gateway reported down although only PostgreSQL and MinIO are: %+v", r)
	}
	// The logs say which address could not be reached.
	deadline := time.Now().Add(30 * time.Second)
	for !(strings.Contains(p.Logs(), pgProxy.Addr) && strings.Contains(p.Logs(), s3Proxy.Addr)) {
		if time.Now().After(deadline) {
			t.Fatalf("logs never named %s and %s:\n%s", pgProxy.Addr, s3Proxy.Addr, p.Logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if p.Exited() {
		t.Fatal("process gave up instead of retrying")
	}

	pgProxy.Unblock()
	s3Proxy.Unblock()
	p.WaitReady(t)
	org := createOrg(t, p, "Đảng bộ sau khôi phục")
	tok := p.Token(t, orgAdmin(org))
	if _, code := createMeeting(t, p, tok, org, "Sau khi khôi phục"); code != http.StatusOK {
		t.Errorf("create meeting after recovery: %d", code)
	}

	// PostgreSQL goes away while running: reported, then recovered.
	pgProxy.Block()
	p.WaitReadyz(t, checkState("postgres", false))
	pgProxy.Unblock()
	p.WaitReady(t)
}

func TestNATSOutageKeepsChangesAndPublishesThemLater(t *testing.T) {
	ns := testenv.EmbeddedNATS(t)
	env := suite.Env(t)
	env["NATS_URL"] = ns.URL()
	p := suite.Start(t, "all", env)
	p.WaitReady(t)
	// The organisation exists before the outage; only the meeting is
	// created while NATS is down.
	org := createOrg(t, p, "Đảng bộ mất kết nối")
	tok := p.Token(t, orgAdmin(org))

	ns.Stop()
	p.WaitReadyz(t, checkState("nats", false))
	// The change commits although its event cannot be published yet.
	m, code := createMeeting(t, p, tok, org, "Họp khi mất kết nối NATS")
	if code != http.StatusOK || m.ID == "" {
		t.Fatalf("create during NATS outage: %d %+v", code, m)
	}

	ns.Restart()
	p.WaitReady(t)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	subject := "ecabinet.meetings.v1." + m.ID + ".created"
	for {
		stream, err := js.Stream(ctx, "MEETINGS")
		if err == nil {
			if msg, err := stream.GetLastMsgForSubject(ctx, subject); err == nil {
				if msg.Header.Get("Nats-Msg-Id") == "" {
					t.Errorf("event published without Nats-Msg-Id")
				}
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("event for %s never published after NATS came back", subject)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestEachServiceRunsAloneBehindTheGateway(t *testing.T) {
	ns := testenv.EmbeddedNATS(t)
	base := suite.Env(t)
	base["NATS_URL"] = ns.URL()
	signing := base["IDENTITY_SIGNING_KEY"]

	gwEnv := map[string]string{"NATS_URL": ns.URL(), "IDENTITY_SIGNING_KEY": signing, "LOG_LEVEL": "debug"}
	for _, svc := range services {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		// Services verify with the public half only; they cannot mint.
		delete(env, "IDENTITY_SIGNING_KEY")
		env["IDENTITY_VERIFY_KEY"] = publicKeyOf(t, signing)
		p := suite.Start(t, svc, env)
		gwEnv[strings.ToUpper(svc)+"_ADDR"] = p.GRPCAddr
		waitHTTP(t, p.BaseURL+"/healthz")
		resp, err := http.Get(p.BaseURL + "/metrics")
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s alone: /metrics %v %v", svc, resp, err)
		} else {
			resp.Body.Close()
		}
	}
	gw := suite.Start(t, "gateway", gwEnv)
	gw.WaitReady(t)
	org := createOrg(t, gw, "Đảng bộ riêng lẻ")
	if _, code := createMeeting(t, gw, gw.Token(t, orgAdmin(org)), org, "Họp chi bộ"); code != http.StatusOK {
		t.Errorf("create meeting through a separate gateway: %d", code)
	}
}

func waitHTTP(t *testing.T, u string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never answered 200", u)
}
