// Package tasks turns a meeting's conclusions into tasks someone is
// accountable for (a person or an organisation), follows them through their
// status and progress notes to the end, and announces overdue ones once a
// day (Reminder). It is part of the meetings service: same schema, pool and
// outbox; the meeting and the directory are reached through the Meetings and
// Directory interfaces, so this package touches only its own tables.
package tasks

import (
	"context"
	"errors"
	"log/slog"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
)

// service names the service in error messages and event subjects.
const service = "meetings"

// ErrNotFound is what Meetings and Directory return for an id that names
// nothing.
var ErrNotFound = errors.New("tasks: not found")

// Meetings gives the meeting a task comes from. It must not apply the
// caller's permissions (this package does, and the reminder has no caller).
type Meetings interface {
	// Meeting returns the meeting with its organization_id, state, agenda
	// and participants (person ids and roles); ErrNotFound if none.
	Meeting(ctx context.Context, meetingID string) (*meetingsv1.Meeting, error)
}

// Directory gives the names of assignees. It must not apply the caller's
// permissions.
type Directory interface {
	// Person returns the full name of a person; orgID is the meeting's
	// organisation, for an implementation that wants it. ErrNotFound if
	// there is no such person.
	Person(ctx context.Context, personID, orgID string) (name string, err error)
	// Organization returns an organisation (its name and parent_id are
	// used); ErrNotFound if none.
	Organization(ctx context.Context, orgID string) (*meetingsv1.Organization, error)
}

// Deps is what the tasks need from the meetings service.
type Deps struct {
	Log       *slog.Logger
	Pool      *pgxpool.Pool // search_path set to the service's schema, migrated
	Meetings  Meetings
	Directory Directory
	// Now is the clock (default time.Now); tests fix it to pin "today".
	Now func() time.Time
	// Ready reports whether the schema is migrated (default: always);
	// until then RPCs answer Unavailable.
	Ready func() bool
}

// Service implements TasksService.
type Service struct {
	d   Deps
	log *slog.Logger
}

// New returns the tasks service; nothing touches the network until called.
func New(d Deps) *Service {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Ready == nil {
		d.Ready = func() bool { return true }
	}
	return &Service{d: d, log: d.Log.With("component", "tasks")}
}

// Register adds TasksService to gs.
func (s *Service) Register(gs *grpc.Server) { s.RegisterOn(gs) }

// RegisterOn is Register for any registrar (a grpcserver.Local too).
func (s *Service) RegisterOn(r grpc.ServiceRegistrar) {
	meetingsv1.RegisterTasksServiceServer(r, &api{s: s})
}

// eventSubject is a task event's subject without the deployment prefix
// (the relay adds that): ecabinet.meetings.v1.<meeting_id>.<event>.
func eventSubject(meetingID, event string) string {
	return "ecabinet." + service + ".v1." + meetingID + "." + event
}
