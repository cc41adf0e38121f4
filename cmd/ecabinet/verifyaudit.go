package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ecabinet/ecabinet/services/documents"
	"github.com/ecabinet/ecabinet/services/meetings"
	"github.com/ecabinet/ecabinet/services/platform/audit"
	"github.com/ecabinet/ecabinet/services/platform/config"
	"github.com/ecabinet/ecabinet/services/platform/pg"
	"github.com/ecabinet/ecabinet/services/video"
	"github.com/ecabinet/ecabinet/services/voting"
)

// Exit codes of -verify-audit.
const (
	verifyIntact = 0 // every trail checked and intact
	verifyBroken = 1 // a chain is broken: records were changed, removed or reordered
	verifyFailed = 2 // could not check (configuration, database unreachable, …)
)

const verifyCommand = "-verify-audit"

// auditSchemas are the schemas of the services, each of which may keep an
// audit trail (the platform's audit_log, one hash chain per schema). The
// meetings service writes one today; the others will as they start
// auditing. A schema without the table (not migrated yet) is skipped.
var auditSchemas = []string{meetings.Name, documents.Name, voting.Name, video.Name}

// verifyAudit checks the hash chain of every service's audit trail in
// DATABASE_URL: one line per schema on w with the records checked, and, for
// a broken chain, the first broken record's seq and what is wrong with it.
// It checks every schema even after a broken one, so one run shows all the
// damage.
func (a *app) verifyAudit(ctx context.Context, w io.Writer) int {
	var cfg postgresConfig
	if err := config.Load(&cfg, a.lookup); err != nil {
		fmt.Fprintf(a.stderr, "ecabinet: %v\n", err)
		return verifyFailed
	}
	code := verifyIntact
	for _, schema := range auditSchemas {
		switch res := verifySchema(ctx, cfg.URL, schema); {
		case res.err != nil:
			fmt.Fprintf(a.stderr, "ecabinet: %s: schema %s: %v\n", verifyCommand, schema, res.err)
			return verifyFailed
		case !res.exists:
			fmt.Fprintf(w, "%s: no audit trail\n", schema)
		case res.broken != nil:
			fmt.Fprintf(w, "%s: BROKEN at seq %d after %d intact records: %s\n", schema, res.broken.Seq, res.checked, res.broken.Problem)
			fmt.Fprintf(a.stderr, "ecabinet: %s: the audit trail of schema %s is broken at seq %d\n", verifyCommand, schema, res.broken.Seq)
			code = verifyBroken
		default:
			fmt.Fprintf(w, "%s: %d records checked, intact\n", schema, res.checked)
		}
	}
	return code
}

type verifyResult struct {
	exists  bool
	checked int64
	broken  *audit.BrokenError
	err     error // could not check
}

func verifySchema(ctx context.Context, url, schema string) verifyResult {
	pool, err := pg.Connect(url, schema)
	if err != nil {
		return verifyResult{err: err}
	}
	defer pool.Close()
	var r verifyResult
	if err := pool.QueryRow(ctx, `SELECT to_regclass(format('%I.audit_log', $1::text)) IS NOT NULL`, schema).Scan(&r.exists); err != nil {
		return verifyResult{err: fmt.Errorf("postgres at %s: %w", pg.Addr(url), err)}
	}
	if !r.exists {
		return r
	}
	r.checked, err = audit.Verify(ctx, pool, "")
	if errors.As(err, &r.broken) {
		return r
	}
	if err != nil {
		return verifyResult{err: err}
	}
	return r
}
