package meetings

import (
	"context"
	"errors"
	"fmt"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/directory"
)

// people is what the meeting side needs from the directory. It is an
// interface so handler logic can be tested with a fake; in the service it
// is the directory package (directoryPort).
type people interface {
	// Members lists the current members of an organisation's body.
	Members(ctx context.Context, orgID string, body meetingsv1.BodyKind) ([]member, error)
	// Person returns a person's name and, if they are a current member of
	// orgID, their standing and excused flag; errUnknown if there is no
	// such person.
	Person(ctx context.Context, personID, orgID string) (member, error)
	// Organization returns an organisation, or errUnknown.
	Organization(ctx context.Context, orgID string) (*meetingsv1.Organization, error)
}

// member is a person as the directory describes them to a meeting.
type member struct {
	PersonID, FullName string
	Standing           meetingsv1.Standing
	Excused            bool
}

// errUnknown: the directory has no such person or organisation.
var errUnknown = errors.New("not in the directory")

// directoryPort adapts *directory.Directory to people.
type directoryPort struct{ d *directory.Directory }

func (p directoryPort) Members(ctx context.Context, orgID string, body meetingsv1.BodyKind) ([]member, error) {
	ms, err := p.d.Members(ctx, orgID, body)
	if err != nil {
		return nil, dirErr(err)
	}
	out := make([]member, len(ms))
	for i, m := range ms {
		out[i] = member{PersonID: m.PersonID, FullName: m.FullName, Standing: m.Standing, Excused: m.Excused}
	}
	return out, nil
}

func (p directoryPort) Person(ctx context.Context, personID, orgID string) (member, error) {
	m, err := p.d.Person(ctx, personID, orgID)
	if err != nil {
		return member{}, dirErr(err)
	}
	return member{PersonID: m.PersonID, FullName: m.FullName, Standing: m.Standing, Excused: m.Excused}, nil
}

func (p directoryPort) Organization(ctx context.Context, orgID string) (*meetingsv1.Organization, error) {
	o, err := p.d.Organization(ctx, orgID)
	if err != nil {
		return nil, dirErr(err)
	}
	return o, nil
}

func dirErr(err error) error {
	if errors.Is(err, directory.ErrNotFound) {
		return errUnknown
	}
	return fmt.Errorf("directory: %w", err)
}
