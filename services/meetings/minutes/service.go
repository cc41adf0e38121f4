// Package minutes keeps meetings' minutes (biên bản): the minute-taker
// writes them per agenda item while the meeting runs, submits them, and the
// chair returns them with a reason or approves them. Approval locks the
// revision, freezes its header, records its content hash in the audit trail
// and closes the meeting, all in one transaction. An amendment is a new
// revision copied from the approved one, with its reason. The minutes also
// export as a PDF in the layout of Vietnamese party minutes.
//
// The package owns its tables (migration 00005_minutes.sql) and reads
// everything about the meeting itself through the Meetings interface.
package minutes

import (
	"context"
	"errors"
	"log/slog"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
)

// service names the service in error messages, as every handler of the
// meetings service does.
const service = "meetings"

// DefaultFontDir is where Debian's fonts-dejavu-core puts DejaVu Sans.
const DefaultFontDir = "/usr/share/fonts/truetype/dejavu"

// ErrNotFound is what a Meetings implementation returns (wrapped or not)
// for a meeting or organisation that does not exist.
var ErrNotFound = errors.New("minutes: not found")

// Meetings is what the minutes need from the meeting side.
type Meetings interface {
	// Meeting returns the meeting with its agenda and participants (roles,
	// attendance, absence reasons), and its organisation. An unknown id
	// returns an error wrapping ErrNotFound.
	Meeting(ctx context.Context, meetingID string) (*meetingsv1.Meeting, *meetingsv1.Organization, error)
	// Organization returns an organisation; the minutes' header names the
	// meeting's organisation's parent (the superior body). An unknown id
	// returns an error wrapping ErrNotFound.
	Organization(ctx context.Context, orgID string) (*meetingsv1.Organization, error)
	// Close moves the meeting from ENDED to CLOSED inside tx, as actorID,
	// with its own event and audit record; it is called when the chair
	// approves the first revision of the minutes. An error that is a gRPC
	// status (FailedPrecondition for a meeting that is not ENDED, say) is
	// passed to the client as it is; any other error is reported as
	// internal.
	Close(ctx context.Context, tx pgx.Tx, meetingID, actorID string) error
}

// Deps is what the minutes need from the service hosting them.
type Deps struct {
	Log *slog.Logger
	// Pool's search_path is the meetings schema, migrated with
	// 00005_minutes.sql and the platform's audit_log.
	Pool     *pgxpool.Pool
	Meetings Meetings
	// Ready reports whether the schema is migrated; until then every RPC
	// answers Unavailable. Nil means always ready.
	Ready func() bool
	// FontDir holds DejaVuSans.ttf and DejaVuSans-Bold.ttf for the PDF;
	// empty means DefaultFontDir.
	FontDir string
	// Locality is the place name that starts the PDF's date line, as in
	// "Yên Bái, ngày 26 tháng 11 năm 2026"; empty leaves it out.
	Locality string
	// Location is the time zone for times printed in the PDF; nil means
	// Vietnam's (UTC+7 all year).
	Location *time.Location
}

// Service implements meetingsv1.MinutesServiceServer.
type Service struct {
	meetingsv1.UnimplementedMinutesServiceServer
	d   Deps
	log *slog.Logger
}

// New returns the minutes service; it touches nothing until called.
func New(d Deps) *Service {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.FontDir == "" {
		d.FontDir = DefaultFontDir
	}
	if d.Location == nil {
		d.Location = time.FixedZone("ICT", 7*60*60)
	}
	return &Service{d: d, log: d.Log.With("component", "minutes")}
}

// Register adds MinutesService to gs.
func (s *Service) Register(gs grpc.ServiceRegistrar) {
	meetingsv1.RegisterMinutesServiceServer(gs, s)
}

func (s *Service) ready() bool { return s.d.Ready == nil || s.d.Ready() }

// subject is the event subject of a minutes event of a meeting.
func subject(meetingID, event string) string {
	return "ecabinet.meetings.v1." + meetingID + "." + event
}

// auditSubject is the audit trail subject of a meeting.
func auditSubject(meetingID string) string { return "meeting/" + meetingID }
