// Package outbox is the sending half of "no event is lost": a service writes
// its state change and the event describing it in one transaction (Enqueue),
// and a Relay publishes the stored events to JetStream afterwards, retrying
// until JetStream has acknowledged each of them.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	platformv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/platform/v1"
)

// Headers set on every published event besides Nats-Msg-Id (the event id).
const (
	HeaderType = "Ecabinet-Type" // full protobuf name of the payload
	HeaderOrg  = "Ecabinet-Org"  // organisation id; absent when the event has none
	// HeaderAudience lists, comma-separated, the person ids outside the
	// organisation who may see the event; absent when there are none.
	HeaderAudience = "Ecabinet-Audience"
)

// NewMeta returns the metadata for a new event: a fresh UUIDv7 id (ordered by
// time, which keeps the outbox's unique index compact) and the current time.
func NewMeta(actorID, aggregateID, orgID string, version int64) *platformv1.EventMeta {
	return &platformv1.EventMeta{
		EventId:          uuid.Must(uuid.NewV7()).String(),
		OccurredAt:       timestamppb.Now(),
		ActorId:          actorID,
		AggregateId:      aggregateID,
		AggregateVersion: version,
		OrganizationId:   orgID,
	}
}

var metaName = (&platformv1.EventMeta{}).ProtoReflect().Descriptor().FullName()

// Enqueue stores event for publication on subject, inside tx: if tx rolls
// back, the event never existed. Field 1 of event must be an
// ecabinet.platform.v1.EventMeta with event_id set.
func Enqueue(ctx context.Context, tx pgx.Tx, subject string, event proto.Message) error {
	if err := checkSubject(subject); err != nil {
		return err
	}
	if event == nil {
		return errors.New("outbox: event is nil")
	}
	meta, err := metaOf(event.ProtoReflect())
	if err != nil {
		return err
	}
	id := meta.GetEventId()
	payload, err := proto.Marshal(event)
	if err != nil {
		return fmt.Errorf("outbox: marshal %s: %w", event.ProtoReflect().Descriptor().FullName(), err)
	}
	_, err = tx.Exec(ctx,
		`INSERT INTO outbox (event_id, subject, event_type, org_id, audience, payload) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, subject, string(event.ProtoReflect().Descriptor().FullName()), meta.GetOrganizationId(),
		append([]string{}, meta.GetAudience()...), payload)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("outbox: event %s is already enqueued: %w", id, err)
	}
	if err != nil {
		return fmt.Errorf("outbox: enqueue %s on %s: %w", id, subject, err)
	}
	return nil
}

// metaOf returns the event's metadata, field 1, so Enqueue accepts every
// event type without a per-type interface.
func metaOf(m protoreflect.Message) (*platformv1.EventMeta, error) {
	name := m.Descriptor().FullName()
	fd := m.Descriptor().Fields().ByNumber(1)
	if fd == nil || fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() ||
		fd.Message().FullName() != metaName {
		return nil, fmt.Errorf("outbox: %s is not an event: field 1 must be %s", name, metaName)
	}
	if !m.Has(fd) {
		return nil, fmt.Errorf("outbox: %s has no meta (field 1)", name)
	}
	meta, ok := m.Get(fd).Message().Interface().(*platformv1.EventMeta)
	if !ok || meta.GetEventId() == "" {
		return nil, fmt.Errorf("outbox: %s has no meta.event_id", name)
	}
	return meta, nil
}

// checkSubject rejects subjects NATS would refuse or treat as wildcards;
// better to fail in the caller's transaction than to block the relay later.
func checkSubject(s string) error {
	if s == "" {
		return errors.New("outbox: empty subject")
	}
	if strings.ContainsAny(s, " \t\r\n*>") {
		return fmt.Errorf("outbox: invalid subject %q: whitespace or wildcard", s)
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" {
			return fmt.Errorf("outbox: invalid subject %q: empty token", s)
		}
	}
	return nil
}
