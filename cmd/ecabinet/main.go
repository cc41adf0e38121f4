// Command ecabinet is the one binary of the suite. -target picks what this
// process runs: the whole suite on one machine (all) or one piece of a
// cluster (gateway, meetings, documents, voting, video, or a comma list).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}

func run(args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	fs := flag.NewFlagSet("ecabinet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", modAll, "what to run: all, or a comma list of targets (see -list-targets)")
	listTargets := fs.Bool("list-targets", false, "print the targets and the modules each one starts, then exit")
	mintToken := fs.Bool("mint-token", false, "print a bearer token for API clients (signed with IDENTITY_SIGNING_KEY), then exit")
	tokenSubject := fs.String("token-subject", "demo-admin", "with -mint-token: the person id")
	tokenName := fs.String("token-name", "Quản trị hệ thống", "with -mint-token: the display name")
	tokenRoles := fs.String("token-roles", "system_admin", "with -mint-token: comma list of roles")
	tokenOrgs := fs.String("token-orgs", "", "with -mint-token: comma list of organisation ids")
	tokenTTL := fs.Duration("token-ttl", 12*time.Hour, "with -mint-token: how long the token is valid")
	loadDemo := fs.Bool("load-demo", false, "load the demo organisations, people, logins and today's meeting into a running suite (MEETINGS_ADDR or GRPC_ADDR; idempotent), print the logins, then exit; never on real data")
	verifyAudit := fs.Bool("verify-audit", false, "check the hash chain of every service's audit trail in DATABASE_URL and print the records checked per schema, then exit: 0 intact, 1 a chain is broken (naming its first broken seq), 2 could not check")
	if err := fs.Parse(args); err != nil {
		return 2
	}

	a := newApp(stderr, lookup)
	switch {
	case *listTargets:
		return a.listTargets(stdout)
	case *mintToken:
		return a.mintToken(stdout, tokenClaims(*tokenSubject, *tokenName, *tokenRoles, *tokenOrgs), *tokenTTL)
	case *loadDemo:
		return a.loadDemo(stdout)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *verifyAudit {
		return a.verifyAudit(ctx, stdout)
	}
	if err := a.start(ctx, *target); err != nil {
		fmt.Fprintf(stderr, "ecabinet: %v\n", err)
		return 1
	}
	return 0
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
