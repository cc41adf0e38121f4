package domain

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	doc1 = "0193a6a2-0000-7000-8000-0000000000d1"
	doc2 = "0193a6a2-0000-7000-8000-0000000000d2"
)

func TestValidateAgendaItem(t *testing.T) {
	it, vs := ValidateAgendaItem(" Báo cáo ", "", 30, []string{doc1, strings.ToUpper(doc2)})
	if len(vs) != 0 || it.Title != "Báo cáo" || !cmp.Equal(it.DocumentIDs, []string{doc1, doc2}) {
		t.Fatalf("item = %+v, %v", it, vs)
	}
	_, vs = ValidateAgendaItem("", "nobody", -1, []string{doc1, "x", doc1})
	want := []string{"title:REQUIRED", "presenter_id:INVALID_FORMAT", "duration_minutes:OUT_OF_RANGE",
		"document_ids[1]:INVALID_FORMAT", "document_ids[2]:DUPLICATE"}
	if diff := cmp.Diff(want, fields(vs)); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	_, vs = ValidateAgendaItem(strings.Repeat("x", MaxAgendaTitleLen+1), "", MaxAgendaMinutes+1, make([]string, MaxAgendaDocuments+1))
	if got := fields(vs); got[0] != "title:TOO_LONG" || got[1] != "duration_minutes:OUT_OF_RANGE" || got[2] != "document_ids:OUT_OF_RANGE" {
		t.Errorf("limits: %v", got)
	}
}

func TestInsertPosition(t *testing.T) {
	for _, tc := range []struct {
		req  int32
		n    int
		want int
		ok   bool
	}{{0, 0, 1, true}, {0, 3, 4, true}, {1, 3, 1, true}, {4, 3, 4, true}, {5, 3, 0, false}, {-1, 3, 0, false}, {1, 0, 1, true}, {2, 0, 0, false}} {
		got, vs := InsertPosition(tc.req, tc.n)
		if got != tc.want || (len(vs) == 0) != tc.ok {
			t.Errorf("InsertPosition(%d, %d) = %d, %v", tc.req, tc.n, got, vs)
		}
		if !tc.ok && fields(vs)[0] != "position:OUT_OF_RANGE" {
			t.Errorf("violation %v", vs)
		}
	}
}

func TestCheckReorder(t *testing.T) {
	cur := []string{doc1, doc2, meetingA}
	got, vs := CheckReorder(cur, []string{meetingA, strings.ToUpper(doc1), doc2})
	if len(vs) != 0 || !cmp.Equal(got, []string{meetingA, doc1, doc2}) {
		t.Errorf("valid reorder: %v %v", got, vs)
	}
	for name, in := range map[string][]string{
		"missing one": {doc1, doc2},
		"extra one":   {doc1, doc2, meetingA, meetingB},
		"foreign":     {doc1, doc2, meetingB},
		"duplicate":   {doc1, doc1, meetingA},
		"empty":       nil,
	} {
		if _, vs := CheckReorder(cur, in); len(vs) != 1 || vs[0].Field != "agenda_item_ids" {
			t.Errorf("%s: %v, want one violation of agenda_item_ids", name, vs)
		}
	}
	if _, vs := CheckReorder(cur, []string{doc1, "bad", meetingA}); len(vs) != 1 || vs[0].Field != "agenda_item_ids[1]" {
		t.Errorf("malformed id: %v", vs)
	}
}
