package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ecabinet/ecabinet/cmd/ecabinet/demo"
	"github.com/ecabinet/ecabinet/services/platform/config"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// demoConfig is what -load-demo needs: where the meetings service listens
// and the key to sign the loader's (system administrator) identity with.
type demoConfig struct {
	GRPCAddr     string `env:"GRPC_ADDR" envDefault:"127.0.0.1:9090"`
	MeetingsAddr string `env:"MEETINGS_ADDR"`
	SigningKey   string `env:"IDENTITY_SIGNING_KEY,required"`
}

// demoTimeout bounds the whole load, waiting for a starting service
// included (migrations on a fresh database).
const demoTimeout = 3 * time.Minute

// loadDemo loads the demo data and prints the logins on w; progress and
// errors go to stderr.
func (a *app) loadDemo(w io.Writer) int {
	var cfg demoConfig
	if err := config.Load(&cfg, a.lookup); err != nil {
		fmt.Fprintf(a.stderr, "ecabinet: %v\n", err)
		return 1
	}
	addr := cfg.MeetingsAddr
	if addr == "" {
		addr = cfg.GRPCAddr
	}
	seed, err := identity.DecodeSeed(cfg.SigningKey)
	if err != nil {
		fmt.Fprintf(a.stderr, "ecabinet: IDENTITY_SIGNING_KEY: %v\n", err)
		return 1
	}
	signer, err := identity.NewSigner(seed)
	if err != nil {
		fmt.Fprintf(a.stderr, "ecabinet: IDENTITY_SIGNING_KEY: %v\n", err)
		return 1
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(identity.UnaryClientInterceptor(signer)))
	if err != nil {
		fmt.Fprintf(a.stderr, "ecabinet: meetings service at %s: %v\n", addr, err)
		return 1
	}
	defer conn.Close()

	ctx, cancel := context.WithTimeout(context.Background(), demoTimeout)
	defer cancel()
	if err := demo.WaitReady(ctx, conn); err != nil {
		fmt.Fprintf(a.stderr, "ecabinet: -load-demo: meetings service at %s: %v\n", addr, err)
		return 1
	}
	res, err := demo.Load(ctx, conn, time.Now())
	if err != nil {
		fmt.Fprintf(a.stderr, "ecabinet: -load-demo: %v\n", err)
		return 1
	}
	if res.Created == 0 {
		fmt.Fprintln(a.stderr, "ecabinet: demo data already loaded; nothing changed")
	} else {
		fmt.Fprintf(a.stderr, "ecabinet: demo data loaded (%d items added)\n", res.Created)
	}
	printLogins(w, res.Logins)
	return 0
}

// printLogins writes one line per demo login: username, password, role,
// and who it is.
func printLogins(w io.Writer, logins []demo.Login) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tPASSWORD\tROLE\tWHO")
	for _, l := range logins {
		who := l.Name
		if l.Title != "" {
			who += " — " + l.Title
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.Username, l.Password, l.Role, who)
	}
	_ = tw.Flush()
}
