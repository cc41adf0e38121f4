package minutes

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"slices"
	"strings"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// header is the minutes' header. While a revision is open it is computed
// from the meeting on every read; on approval it is stored (as this JSON)
// and never recomputed, so renaming the organisation or editing attendance
// later does not change approved minutes.
type header struct {
	// SuperiorName is the organisation's parent, printed above its name.
	SuperiorName     string         `json:"superior_name,omitempty"`
	OrganizationName string         `json:"organization_name"`
	MeetingTitle     string         `json:"meeting_title"`
	Place            string         `json:"place"`
	Online           bool           `json:"online,omitempty"`
	StartsAt         time.Time      `json:"starts_at"`
	EndsAt           *time.Time     `json:"ends_at,omitempty"`
	ChairName        string         `json:"chair_name"`
	MinuteTakerName  string         `json:"minute_taker_name"`
	Present          []string       `json:"present"`
	PresentOnline    []string       `json:"present_online"`
	Absent           []absentPerson `json:"absent"`
	MembersTotal     int32          `json:"members_total"`
}

type absentPerson struct {
	Name   string `json:"name"`
	Reason string `json:"reason,omitempty"`
}

// item is the minutes of one agenda item.
type item struct {
	AgendaItemID string `json:"agenda_item_id"`
	Title        string `json:"title"`
	Position     int32  `json:"position"`
	Discussion   string `json:"discussion"`
	Opinions     string `json:"opinions"`
	Conclusions  string `json:"conclusions"`
	Votes        []vote `json:"votes"`
}

// vote is a result the voting service published for an agenda item.
type vote struct {
	PollID  string `json:"poll_id"`
	Title   string `json:"title"`
	Summary string `json:"summary"`
}

// content is what a revision says: its header and items.
type content struct {
	Header header
	Items  []item
}

// buildHeader fills the header from the meeting. Members are the
// participants other than guests and observers; each member is present,
// online or absent (not marked present counts as absent, with the reason
// they gave, if any).
func buildHeader(m *meetingsv1.Meeting, org, parent *meetingsv1.Organization) header {
	h := header{
		SuperiorName:     parent.GetName(),
		OrganizationName: org.GetName(),
		MeetingTitle:     m.GetTitle(),
		Place:            m.GetPlace(),
		Online:           m.GetOnline(),
		StartsAt:         m.GetStartsAt().AsTime(),
		Present:          []string{},
		PresentOnline:    []string{},
		Absent:           []absentPerson{},
	}
	if m.GetEndsAt() != nil {
		t := m.GetEndsAt().AsTime()
		h.EndsAt = &t
	}
	for _, p := range m.GetParticipants() {
		switch p.GetRole() {
		case meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR:
			if h.ChairName == "" {
				h.ChairName = p.GetFullName()
			}
		case meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER:
			if h.MinuteTakerName == "" {
				h.MinuteTakerName = p.GetFullName()
			}
		case meetingsv1.ParticipantRole_PARTICIPANT_ROLE_GUEST, meetingsv1.ParticipantRole_PARTICIPANT_ROLE_OBSERVER:
			continue
		}
		h.MembersTotal++
		switch p.GetAttendance() {
		case meetingsv1.Attendance_ATTENDANCE_PRESENT:
			h.Present = append(h.Present, p.GetFullName())
		case meetingsv1.Attendance_ATTENDANCE_PRESENT_ONLINE:
			h.PresentOnline = append(h.PresentOnline, p.GetFullName())
		default:
			h.Absent = append(h.Absent, absentPerson{Name: p.GetFullName(), Reason: p.GetAbsenceReason()})
		}
	}
	return h
}

// liveItems merges the agenda with the saved text and the vote results:
// one item per agenda item in agenda order, then any text or votes saved
// for items that have since left the agenda, so no written text is hidden.
func liveItems(m *meetingsv1.Meeting, saved []item, votes map[string][]vote) []item {
	byID := make(map[string]item, len(saved))
	for _, it := range saved {
		byID[it.AgendaItemID] = it
	}
	agenda := slices.Clone(m.GetAgenda())
	slices.SortStableFunc(agenda, func(a, b *meetingsv1.AgendaItem) int { return int(a.GetPosition() - b.GetPosition()) })
	out := make([]item, 0, len(agenda))
	onAgenda := make(map[string]bool, len(agenda))
	for _, a := range agenda {
		onAgenda[a.GetId()] = true
		it := byID[a.GetId()]
		it.AgendaItemID, it.Title, it.Position = a.GetId(), a.GetTitle(), a.GetPosition()
		it.Votes = nonNil(votes[a.GetId()])
		out = append(out, it)
	}
	next := int32(len(agenda))
	for _, it := range saved {
		if onAgenda[it.AgendaItemID] {
			continue
		}
		onAgenda[it.AgendaItemID] = true
		it.Votes = nonNil(votes[it.AgendaItemID])
		if it.Discussion == "" && it.Opinions == "" && it.Conclusions == "" && len(it.Votes) == 0 {
			continue
		}
		next++
		it.Position = next
		out = append(out, it)
	}
	// Votes on an item that is neither on the agenda nor in the text.
	for _, id := range sortedKeys(votes) {
		if onAgenda[id] {
			continue
		}
		next++
		out = append(out, item{AgendaItemID: id, Position: next, Votes: votes[id]})
	}
	// The order items are stored and hashed in (agenda positions should be
	// unique, but a tie must not make the order depend on map iteration).
	slices.SortStableFunc(out, func(a, b item) int {
		if a.Position != b.Position {
			return int(a.Position - b.Position)
		}
		return strings.Compare(a.AgendaItemID, b.AgendaItemID)
	})
	return out
}

func nonNil(v []vote) []vote {
	if v == nil {
		return []vote{}
	}
	return v
}

func sortedKeys(m map[string][]vote) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// contentHash is the hex SHA-256 of the approved revision: the meeting,
// the revision and its amendment reason, the frozen header, every item with
// its votes, and who approved it when. Every field is length-prefixed and
// every list count-prefixed, so no two different revisions encode alike.
func contentHash(meetingID string, r *revision, c content) string {
	e := encoder{sha256.New()}
	e.str("ecabinet.minutes.v1")
	e.str(meetingID)
	e.num(int64(r.Revision))
	e.str(r.AmendmentReason)
	h := c.Header
	e.str(h.SuperiorName)
	e.str(h.OrganizationName)
	e.str(h.MeetingTitle)
	e.str(h.Place)
	e.boolean(h.Online)
	e.num(h.StartsAt.UnixMicro())
	if h.EndsAt != nil {
		e.boolean(true)
		e.num(h.EndsAt.UnixMicro())
	} else {
		e.boolean(false)
	}
	e.str(h.ChairName)
	e.str(h.MinuteTakerName)
	e.strs(h.Present)
	e.strs(h.PresentOnline)
	e.num(int64(len(h.Absent)))
	for _, a := range h.Absent {
		e.str(a.Name)
		e.str(a.Reason)
	}
	e.num(int64(h.MembersTotal))
	e.num(int64(len(c.Items)))
	for _, it := range c.Items {
		e.str(it.AgendaItemID)
		e.str(it.Title)
		e.num(int64(it.Position))
		e.str(it.Discussion)
		e.str(it.Opinions)
		e.str(it.Conclusions)
		e.num(int64(len(it.Votes)))
		for _, v := range it.Votes {
			e.str(v.PollID)
			e.str(v.Title)
			e.str(v.Summary)
		}
	}
	e.str(r.ApprovedBy)
	e.str(r.ApprovedByName)
	e.num(r.ApproveTime.UnixMicro())
	return hex.EncodeToString(e.h.Sum(nil))
}

type encoder struct{ h hash.Hash }

func (e encoder) num(n int64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	e.h.Write(b[:])
}

func (e encoder) str(s string) {
	e.num(int64(len(s)))
	e.h.Write([]byte(s))
}

func (e encoder) strs(ss []string) {
	e.num(int64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

func (e encoder) boolean(b bool) {
	if b {
		e.h.Write([]byte{1})
	} else {
		e.h.Write([]byte{0})
	}
}

// toProto renders a revision and its content for the API.
func toProto(meetingID string, r *revision, c content) *meetingsv1.Minutes {
	h := c.Header
	ph := &meetingsv1.MinutesHeader{
		OrganizationName: h.OrganizationName,
		MeetingTitle:     h.MeetingTitle,
		Place:            h.Place,
		StartsAt:         timestamppb.New(h.StartsAt),
		ChairName:        h.ChairName,
		MinuteTakerName:  h.MinuteTakerName,
		Present:          h.Present,
		PresentOnline:    h.PresentOnline,
		MembersTotal:     h.MembersTotal,
	}
	if h.EndsAt != nil {
		ph.EndsAt = timestamppb.New(*h.EndsAt)
	}
	for _, a := range h.Absent {
		ph.Absent = append(ph.Absent, &meetingsv1.AbsentPerson{FullName: a.Name, Reason: a.Reason})
	}
	out := &meetingsv1.Minutes{
		MeetingId:       meetingID,
		Revision:        r.Revision,
		State:           r.State,
		Version:         r.Version,
		Header:          ph,
		AmendmentReason: r.AmendmentReason,
		ReturnReason:    r.ReturnReason,
		ApprovedByName:  r.ApprovedByName,
		ContentHash:     r.ContentHash,
	}
	if !r.ApproveTime.IsZero() {
		out.ApproveTime = timestamppb.New(r.ApproveTime)
	}
	for _, it := range c.Items {
		pi := &meetingsv1.ItemMinutes{
			AgendaItemId:    it.AgendaItemID,
			AgendaItemTitle: it.Title,
			Position:        it.Position,
			Discussion:      it.Discussion,
			Opinions:        it.Opinions,
			Conclusions:     it.Conclusions,
		}
		for _, v := range it.Votes {
			pi.Votes = append(pi.Votes, &meetingsv1.VoteResult{PollId: v.PollID, Title: v.Title, Summary: v.Summary})
		}
		out.Items = append(out.Items, pi)
	}
	return out
}
