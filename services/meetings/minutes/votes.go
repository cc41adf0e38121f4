package minutes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/audit"
	"github.com/jackc/pgx/v5"
)

// Limits on a reported vote result; longer text is a bug in the reporter.
const (
	maxPollIDLen      = 100
	maxVoteTitleLen   = 500
	maxVoteSummaryLen = 1000
)

// ErrInvalidVote is returned (wrapped) by RecordVoteResult for a result
// that can never be stored; a consumer should treat it as poison rather
// than retry.
var ErrInvalidVote = errors.New("minutes: invalid vote result")

// RecordVoteResult stores the result of a poll on an agenda item of the
// meeting, inside the caller's transaction (the voting service's event
// consumer's, whose inbox makes redelivery harmless; a result reported
// again for the same poll replaces the earlier one). Results belong to the
// meeting: every open revision of its minutes shows them under their item,
// and approving a revision freezes the ones it shows. The change is audited
// and announced as MinutesChanged, like any other change of the minutes.
func (s *Service) RecordVoteResult(ctx context.Context, tx pgx.Tx, meetingID, agendaItemID string, res *meetingsv1.VoteResult) error {
	mid, vs := parseID("meeting_id", meetingID)
	iid, ivs := parseID("agenda_item_id", agendaItemID)
	vs = append(vs, ivs...)
	v := vote{
		PollID:  strings.TrimSpace(res.GetPollId()),
		Title:   normalizeText(res.GetTitle()),
		Summary: normalizeText(res.GetSummary()),
	}
	if v.PollID == "" || utf8.RuneCountInString(v.PollID) > maxPollIDLen {
		return fmt.Errorf("%w: poll_id must be 1 to %d characters, got %q", ErrInvalidVote, maxPollIDLen, v.PollID)
	}
	vs = append(vs, checkText("title", v.Title, maxVoteTitleLen, false)...)
	vs = append(vs, checkText("summary", v.Summary, maxVoteSummaryLen, true)...)
	if len(vs) > 0 {
		return fmt.Errorf("%w: %s %s", ErrInvalidVote, vs[0].Field, vs[0].Description)
	}
	m, _, err := s.d.Meetings.Meeting(ctx, mid)
	if err != nil {
		return fmt.Errorf("minutes: record vote %s: read meeting %s: %w", v.PollID, mid, err)
	}
	if err := lockMinutes(ctx, tx, mid); err != nil {
		return err
	}
	if err := recordVote(ctx, tx, mid, iid, v); err != nil {
		return err
	}
	cur, err := readRevision(ctx, tx, mid, 0)
	if err != nil {
		return err
	}
	if cur == nil {
		cur = &revision{Revision: 1, State: draft}
	}
	// The version stays: nobody's text changed, so a save in flight must
	// not be refused as stale; the event tells open editors to refresh.
	if err := s.enqueue(ctx, tx, "system", m, cur, false); err != nil {
		return err
	}
	if err := audit.Append(ctx, tx, audit.Record{
		Subject: auditSubject(mid), Action: actionVoteRecorded, ActorID: "system",
		Payload: map[string]any{"agenda_item_id": iid, "poll_id": v.PollID, "summary": v.Summary},
	}); err != nil {
		return fmt.Errorf("minutes: record vote %s: %w", v.PollID, err)
	}
	return nil
}
