package meetings

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

func titles(m *meetingsv1.Meeting) []string {
	var out []string
	for i, it := range m.GetAgenda() {
		if int(it.GetPosition()) != i+1 {
			out = append(out, fmt.Sprintf("BAD POSITION %d at %d", it.GetPosition(), i+1))
		}
		out = append(out, it.GetTitle())
	}
	return out
}

func TestAgenda(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.prepare(t, c, w.draft(t, c)) // items A1, A2 (the fixture's titles)
	ctx := c.as(c.taker)
	id := m.GetId()
	a1, a2 := m.GetAgenda()[0], m.GetAgenda()[1]
	doc := uuid.NewString()

	add := func(title string, pos int32) *meetingsv1.Meeting {
		t.Helper()
		r, err := w.client.AddAgendaItem(ctx, &meetingsv1.AddAgendaItemRequest{MeetingId: id, Title: title, Position: pos,
			PresenterId: c.m1, DurationMinutes: 15, DocumentIds: []string{doc}})
		if err != nil {
			t.Fatalf("AddAgendaItem(%q at %d): %v", title, pos, err)
		}
		return r.GetMeeting()
	}
	add("Khai mạc", 1)
	add("Bế mạc", 0)
	got := add("Giữa", 3)
	want := []string{"Khai mạc", a1.GetTitle(), "Giữa", a2.GetTitle(), "Bế mạc"}
	if diff := cmp.Diff(want, titles(got)); diff != "" {
		t.Fatalf("agenda after inserts (-want +got):\n%s", diff)
	}
	it := got.GetAgenda()[0]
	if it.GetPresenterId() != c.m1 || it.GetPresenterName() != "Lê Văn Cường" || it.GetDurationMinutes() != 15 ||
		!cmp.Equal(it.GetDocumentIds(), []string{doc}) {
		t.Errorf("item = %v", it)
	}

	// Update.
	r, err := w.client.UpdateAgendaItem(ctx, &meetingsv1.UpdateAgendaItemRequest{MeetingId: id, AgendaItemId: it.GetId(),
		Title: "Khai mạc hội nghị", DurationMinutes: 5})
	if err != nil {
		t.Fatalf("UpdateAgendaItem: %v", err)
	}
	if u := r.GetMeeting().GetAgenda()[0]; u.GetTitle() != "Khai mạc hội nghị" || u.GetPresenterId() != "" || len(u.GetDocumentIds()) != 0 || u.GetPosition() != 1 {
		t.Errorf("updated item = %v", u)
	}

	// Remove closes the gap.
	r2, err := w.client.RemoveAgendaItem(ctx, &meetingsv1.RemoveAgendaItemRequest{MeetingId: id, AgendaItemId: got.GetAgenda()[2].GetId()})
	if err != nil {
		t.Fatalf("RemoveAgendaItem: %v", err)
	}
	want = []string{"Khai mạc hội nghị", a1.GetTitle(), a2.GetTitle(), "Bế mạc"}
	if diff := cmp.Diff(want, titles(r2.GetMeeting())); diff != "" {
		t.Fatalf("agenda after remove (-want +got):\n%s", diff)
	}

	// Reorder: exactly the current ids.
	cur := r2.GetMeeting().GetAgenda()
	ids := []string{cur[3].GetId(), cur[2].GetId(), cur[1].GetId(), cur[0].GetId()}
	r3, err := w.client.ReorderAgenda(ctx, &meetingsv1.ReorderAgendaRequest{MeetingId: id, AgendaItemIds: ids})
	if err != nil {
		t.Fatalf("ReorderAgenda: %v", err)
	}
	want = []string{"Bế mạc", a2.GetTitle(), a1.GetTitle(), "Khai mạc hội nghị"}
	if diff := cmp.Diff(want, titles(r3.GetMeeting())); diff != "" {
		t.Fatalf("agenda after reorder (-want +got):\n%s", diff)
	}
	for name, bad := range map[string][]string{
		"missing":   ids[:3],
		"duplicate": {ids[0], ids[0], ids[1], ids[2]},
		"foreign":   {ids[0], ids[1], ids[2], uuid.NewString()},
		"extra":     append(append([]string{}, ids...), uuid.NewString()),
	} {
		_, err := w.client.ReorderAgenda(ctx, &meetingsv1.ReorderAgendaRequest{MeetingId: id, AgendaItemIds: bad})
		if diff := cmp.Diff([]string{"agenda_item_ids"}, testenv.ViolatedFields(t, err)); diff != "" {
			t.Errorf("reorder %s (-want +got):\n%s", name, diff)
		}
	}

	// Validation names each field.
	for name, tc := range map[string]struct {
		req  *meetingsv1.AddAgendaItemRequest
		want []string
	}{
		"no title":         {&meetingsv1.AddAgendaItemRequest{MeetingId: id}, []string{"title"}},
		"long title":       {&meetingsv1.AddAgendaItemRequest{MeetingId: id, Title: strings.Repeat("x", 501)}, []string{"title"}},
		"bad duration":     {&meetingsv1.AddAgendaItemRequest{MeetingId: id, Title: "x", DurationMinutes: -5}, []string{"duration_minutes"}},
		"bad document":     {&meetingsv1.AddAgendaItemRequest{MeetingId: id, Title: "x", DocumentIds: []string{"doc"}}, []string{"document_ids[0]"}},
		"position too far": {&meetingsv1.AddAgendaItemRequest{MeetingId: id, Title: "x", Position: 6}, []string{"position"}},
		"presenter absent": {&meetingsv1.AddAgendaItemRequest{MeetingId: id, Title: "x", PresenterId: c.outsider}, []string{"presenter_id"}},
		"bad presenter":    {&meetingsv1.AddAgendaItemRequest{MeetingId: id, Title: "x", PresenterId: "p"}, []string{"presenter_id"}},
		"several":          {&meetingsv1.AddAgendaItemRequest{MeetingId: id, Position: -1, DurationMinutes: 100000}, []string{"title", "duration_minutes", "position"}},
	} {
		_, err := w.client.AddAgendaItem(ctx, tc.req)
		if diff := cmp.Diff(tc.want, testenv.ViolatedFields(t, err)); diff != "" {
			t.Errorf("AddAgendaItem %s (-want +got):\n%s", name, diff)
		}
	}
	_, err = w.client.UpdateAgendaItem(ctx, &meetingsv1.UpdateAgendaItemRequest{MeetingId: id, AgendaItemId: "x", Title: ""})
	if diff := cmp.Diff([]string{"agenda_item_id", "title"}, testenv.ViolatedFields(t, err)); diff != "" {
		t.Errorf("UpdateAgendaItem (-want +got):\n%s", diff)
	}
	// An item of another meeting is not found in this one.
	other := w.prepare(t, c, w.draft(t, c))
	_, err = w.client.UpdateAgendaItem(ctx, &meetingsv1.UpdateAgendaItemRequest{MeetingId: id, AgendaItemId: other.GetAgenda()[0].GetId(), Title: "x"})
	testenv.Code(t, err, codes.NotFound)
	_, err = w.client.RemoveAgendaItem(ctx, &meetingsv1.RemoveAgendaItemRequest{MeetingId: id, AgendaItemId: other.GetAgenda()[0].GetId()})
	testenv.Code(t, err, codes.NotFound)
}

func TestAgendaOfAScheduledMeetingKeepsAnItem(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.scheduled(t, c)
	ctx := c.adminCtx()
	if _, err := w.client.RemoveAgendaItem(ctx, &meetingsv1.RemoveAgendaItemRequest{MeetingId: m.GetId(), AgendaItemId: m.GetAgenda()[0].GetId()}); err != nil {
		t.Fatal(err)
	}
	_, err := w.client.RemoveAgendaItem(ctx, &meetingsv1.RemoveAgendaItemRequest{MeetingId: m.GetId(), AgendaItemId: m.GetAgenda()[1].GetId()})
	wantIllegal(t, err, "meeting is scheduled and needs at least one agenda item")
	if got := w.get(t, ctx, m.GetId()); len(got.GetAgenda()) != 1 {
		t.Errorf("refused removal removed the item: %v", got.GetAgenda())
	}

	// Once ended, the agenda is history.
	if _, err := w.client.StartMeeting(ctx, &meetingsv1.StartMeetingRequest{MeetingId: m.GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.client.EndMeeting(ctx, &meetingsv1.EndMeetingRequest{MeetingId: m.GetId()}); err != nil {
		t.Fatal(err)
	}
	_, err = w.client.AddAgendaItem(ctx, &meetingsv1.AddAgendaItemRequest{MeetingId: m.GetId(), Title: "Muộn"})
	wantIllegal(t, err, "meeting is ended; the agenda can be changed only while")
}

// Concurrent inserts never collide: each waits for the meeting's row lock
// and sees the agenda the one before it left.
func TestConcurrentAgendaInserts(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.draft(t, c)
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half append, half insert at the top: both shift positions.
			pos := int32(0)
			if i%2 == 1 {
				pos = 1
			}
			_, err := w.client.AddAgendaItem(c.adminCtx(), &meetingsv1.AddAgendaItemRequest{MeetingId: m.GetId(), Title: fmt.Sprintf("Nội dung %d", i), Position: pos})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent AddAgendaItem: %v", err)
		}
	}
	got := w.get(t, c.adminCtx(), m.GetId())
	if len(got.GetAgenda()) != n {
		t.Fatalf("%d items, want %d", len(got.GetAgenda()), n)
	}
	seen := map[string]bool{}
	for i, it := range got.GetAgenda() {
		if it.GetPosition() != int32(i+1) || seen[it.GetTitle()] {
			t.Errorf("item %d: position %d, title %q (seen before: %v)", i, it.GetPosition(), it.GetTitle(), seen[it.GetTitle()])
		}
		seen[it.GetTitle()] = true
	}
	if got.GetVersion() != n+1 {
		t.Errorf("version %d, want %d (one per insert)", got.GetVersion(), n+1)
	}
	w.audit(t, m.GetId()) // the chain stays intact under concurrency
}

func TestSetCurrentAgendaItem(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	s := w.scheduled(t, c)
	req := &meetingsv1.SetCurrentAgendaItemRequest{MeetingId: s.GetId(), AgendaItemId: s.GetAgenda()[0].GetId()}
	_, err := w.client.SetCurrentAgendaItem(c.as(c.chair), req)
	wantIllegal(t, err, "meeting is scheduled; the current agenda item can be set only while the meeting is in progress")

	m := w.started(t, c)
	cons := testenv.Consumer(t, w.js, w.stream)
	for _, it := range m.GetAgenda() {
		r, err := w.client.SetCurrentAgendaItem(c.as(c.chair), &meetingsv1.SetCurrentAgendaItemRequest{MeetingId: m.GetId(), AgendaItemId: it.GetId()})
		if err != nil || r.GetMeeting().GetCurrentAgendaItemId() != it.GetId() {
			t.Fatalf("SetCurrentAgendaItem: %v %v", err, r.GetMeeting().GetCurrentAgendaItemId())
		}
	}
	// Of the wrong meeting, or not an item at all.
	for _, bad := range []string{s.GetAgenda()[0].GetId(), uuid.NewString(), "", "x"} {
		_, err := w.client.SetCurrentAgendaItem(c.as(c.taker), &meetingsv1.SetCurrentAgendaItemRequest{MeetingId: m.GetId(), AgendaItemId: bad})
		if diff := cmp.Diff([]string{"agenda_item_id"}, testenv.ViolatedFields(t, err)); diff != "" {
			t.Errorf("SetCurrentAgendaItem(%q) (-want +got):\n%s", bad, diff)
		}
	}
	// A plain member cannot move the meeting on.
	_, err = w.client.SetCurrentAgendaItem(c.as(c.m1), &meetingsv1.SetCurrentAgendaItemRequest{MeetingId: m.GetId(), AgendaItemId: m.GetAgenda()[0].GetId()})
	testenv.Code(t, err, codes.PermissionDenied)

	// Tablets follow: agenda_advanced events in order, for the audience.
	var got []string
	for {
		msg := testenv.Next(t, cons)
		if !strings.HasSuffix(msg.Subject(), m.GetId()+".agenda_advanced") {
			continue
		}
		var ev meetingsv1.AgendaAdvanced
		if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		if len(ev.GetMeta().GetAudience()) != 9 || ev.GetMeeting().GetCurrentAgendaItemId() != ev.GetCurrentAgendaItemId() {
			t.Errorf("event %v", ev.GetMeta())
		}
		got = append(got, ev.GetCurrentAgendaItemId())
		if len(got) == 2 {
			break
		}
	}
	if diff := cmp.Diff([]string{m.GetAgenda()[0].GetId(), m.GetAgenda()[1].GetId()}, got); diff != "" {
		t.Errorf("advanced to (-want +got):\n%s", diff)
	}

	// Removing the current item leaves none current.
	r, err := w.client.RemoveAgendaItem(c.as(c.taker), &meetingsv1.RemoveAgendaItemRequest{MeetingId: m.GetId(), AgendaItemId: m.GetAgenda()[1].GetId()})
	if err != nil || r.GetMeeting().GetCurrentAgendaItemId() != "" {
		t.Errorf("remove current item: %v, current %q", err, r.GetMeeting().GetCurrentAgendaItemId())
	}
}
