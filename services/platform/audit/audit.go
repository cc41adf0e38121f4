// Package audit keeps a service's tamper-evident audit trail: the table
// audit_log in the service's schema (platform migration 00003), to which
// records are only ever appended, each carrying the SHA-256 of the record
// before it and of its own fields. Changing a field, deleting a record or
// reordering records breaks the chain at that point, and Verify names it.
//
// The chain is one line per schema: appends are serialised by a
// transaction-scoped advisory lock, so an appending transaction holds up the
// other appenders of its schema until it ends. Call Append as the last
// statement of a transaction to keep that short.
//
// What the chain cannot show on its own is the removal of the newest
// records (the rest still links up); publishing the latest hash somewhere
// else (an event, a printed minutes page) closes that gap.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Record is one audited action.
type Record struct {
	// Subject is what the record is about, e.g. "meeting/<id>"; Verify
	// selects records by a subject prefix.
	Subject string
	// Action says what happened, e.g. "minutes_approved".
	Action string
	// ActorID is the person who acted ("system" for automatic changes).
	ActorID string
	// Reason is the reason the actor gave, if any.
	Reason string
	// Payload is any value encoding/json can marshal (nil stores {}): the
	// details worth proving later, such as a content hash.
	Payload any
}

// hashVersion separates this encoding from any later one, so a future
// format can never produce the same bytes for a different record.
const hashVersion = "ecabinet.audit.v1"

// Append adds rec to the audit trail inside tx: if tx rolls back, the record
// never existed. tx must run at READ COMMITTED (PostgreSQL's default), so
// that after waiting for the append lock it sees the record its predecessor
// committed.
func Append(ctx context.Context, tx pgx.Tx, rec Record) error {
	if strings.TrimSpace(rec.Subject) == "" || strings.TrimSpace(rec.Action) == "" {
		return fmt.Errorf("audit: record needs a subject and an action, got subject %q action %q", rec.Subject, rec.Action)
	}
	payload := []byte("{}")
	if rec.Payload != nil {
		var err error
		if payload, err = json.Marshal(rec.Payload); err != nil {
			return fmt.Errorf("audit: marshal payload of %s %s: %w", rec.Subject, rec.Action, err)
		}
	}

	// One key per schema: each service's chain is independent. The lock
	// must be taken in a statement of its own: the next statement's
	// snapshot then includes what the previous holder committed.
	if _, err := tx.Exec(ctx,
		`SELECT pg_advisory_xact_lock(hashtextextended('ecabinet.audit.' || current_schema(), 0))`); err != nil {
		return fmt.Errorf("audit: take append lock: %w", err)
	}
	var (
		isolation string
		prev      []byte
		at        time.Time
		stored    string
	)
	// The payload's hash is computed from what jsonb will give back (key
	// order, number spelling), so Verify recomputes the same bytes.
	err := tx.QueryRow(ctx, `SELECT current_setting('transaction_isolation'),
			coalesce((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), ''::bytea),
			clock_timestamp(), $1::jsonb::text`, string(payload)).Scan(&isolation, &prev, &at, &stored)
	if err != nil {
		return fmt.Errorf("audit: read chain head: %w", err)
	}
	if isolation != "read committed" {
		return fmt.Errorf("audit: append needs a READ COMMITTED transaction, this one is %s: it could not see the latest record", isolation)
	}
	if prev == nil {
		prev = []byte{} // pgx would send a nil slice as NULL
	}
	canon, err := canonicalJSON(stored)
	if err != nil {
		return fmt.Errorf("audit: canonical payload of %s %s: %w", rec.Subject, rec.Action, err)
	}
	at = at.Truncate(time.Microsecond) // what timestamptz keeps
	sum := recordHash(prev, rec.Subject, rec.Action, rec.ActorID, rec.Reason, canon, at)
	if _, err := tx.Exec(ctx, `INSERT INTO audit_log
			(subject, action, actor_id, reason, payload, recorded_at, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)`,
		rec.Subject, rec.Action, rec.ActorID, rec.Reason, stored, at, prev, sum); err != nil {
		return fmt.Errorf("audit: append %s %s: %w", rec.Subject, rec.Action, err)
	}
	return nil
}

// recordHash is SHA-256 over a version tag, the previous hash and the
// record's fields, each prefixed by its length so that no two different
// records encode to the same bytes ("ab"+"c" differs from "a"+"bc").
func recordHash(prev []byte, subject, action, actor, reason string, payload []byte, at time.Time) []byte {
	h := sha256.New()
	field(h, []byte(hashVersion))
	field(h, prev)
	field(h, []byte(subject))
	field(h, []byte(action))
	field(h, []byte(actor))
	field(h, []byte(reason))
	field(h, payload)
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(at.UnixMicro()))
	field(h, ts[:])
	return h.Sum(nil)
}

func field(h hash.Hash, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}

// canonicalJSON re-encodes a JSON document with object keys sorted, no
// insignificant white space and numbers spelt as given, so the hash does
// not depend on how a PostgreSQL version happens to print jsonb.
func canonicalJSON(doc string) ([]byte, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := writeCanonical(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeCanonical(buf *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeString(buf, k); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := writeCanonical(buf, v[k]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeCanonical(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case string:
		return writeString(buf, v)
	case json.Number:
		buf.WriteString(v.String())
	case bool:
		if v {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
	case nil:
		buf.WriteString("null")
	default:
		return fmt.Errorf("unexpected JSON value %T", v)
	}
	return nil
}

func writeString(buf *bytes.Buffer, s string) error {
	enc := json.NewEncoder(buf)
	// Escaping <, > and & is for HTML pages; it is noise in a hash input.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's trailing newline
	return nil
}

// Querier is what Verify reads through: a pool, a connection or a
// transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// BrokenError says where the chain first breaks.
type BrokenError struct {
	Seq     int64  // the first record that fails
	Problem string // what is wrong with it, in English
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit: chain broken at seq %d: %s", e.Seq, e.Problem)
}

// Verify walks, in order, the records whose subject starts with
// subjectPrefix ("" for all) and checks that each one's hash matches its
// fields and that it links to the record just before it in the whole chain.
// It returns how many records it checked and, at the first failure, a
// *BrokenError naming the record: a changed field shows at the changed
// record, a deleted or reordered record at the first record whose link no
// longer matches.
func Verify(ctx context.Context, q Querier, subjectPrefix string) (checked int64, err error) {
	rows, err := q.Query(ctx, `SELECT a.seq, a.subject, a.action, a.actor_id, a.reason, a.payload::text,
			a.recorded_at, a.prev_hash, a.hash, p.seq, p.hash
		FROM audit_log a
		LEFT JOIN LATERAL (SELECT seq, hash FROM audit_log b WHERE b.seq < a.seq ORDER BY b.seq DESC LIMIT 1) p ON true
		WHERE a.subject LIKE $1
		ORDER BY a.seq`, likePrefix(subjectPrefix))
	if err != nil {
		return 0, fmt.Errorf("audit: verify %q: %w", subjectPrefix, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			seq                            int64
			subject, action, actor, reason string
			payload                        string
			at                             time.Time
			prevHash, sum, predHash        []byte
			predSeq                        *int64
		)
		if err := rows.Scan(&seq, &subject, &action, &actor, &reason, &payload, &at, &prevHash, &sum, &predSeq, &predHash); err != nil {
			return checked, fmt.Errorf("audit: verify %q: %w", subjectPrefix, err)
		}
		canon, err := canonicalJSON(payload)
		if err != nil {
			return checked, &BrokenError{Seq: seq, Problem: fmt.Sprintf("payload is not JSON: %v", err)}
		}
		if want := recordHash(prevHash, subject, action, actor, reason, canon, at); !bytes.Equal(want, sum) {
			return checked, &BrokenError{Seq: seq, Problem: "its fields do not match its hash: the record was changed"}
		}
		switch {
		case predSeq == nil && len(prevHash) != 0:
			return checked, &BrokenError{Seq: seq, Problem: "it links to a previous record but none is left: earlier records were deleted"}
		case predSeq != nil && !bytes.Equal(prevHash, predHash):
			return checked, &BrokenError{Seq: seq, Problem: fmt.Sprintf(
				"it does not link to seq %d, the record before it: a record in between was deleted or the records were reordered", *predSeq)}
		}
		checked++
	}
	if err := rows.Err(); err != nil {
		return checked, fmt.Errorf("audit: verify %q: %w", subjectPrefix, err)
	}
	return checked, nil
}

// likePrefix turns a literal prefix into a LIKE pattern.
func likePrefix(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(p) + "%"
}

// IsBroken reports whether err says the chain is broken (rather than that
// it could not be read).
func IsBroken(err error) bool {
	var b *BrokenError
	return errors.As(err, &b)
}
