package domain

import (
	"fmt"
	"slices"
)

// Agenda limits.
const (
	MaxAgendaTitleLen  = 500
	MaxAgendaMinutes   = 24 * 60
	MaxAgendaDocuments = 50
	MaxAgendaItems     = 100
)

// AgendaItem is a validated agenda item as a request describes it.
type AgendaItem struct {
	Title       string
	PresenterID string // empty: nobody in particular
	Minutes     int
	DocumentIDs []string
}

// ValidateAgendaItem checks the fields shared by adding and updating an
// item. Whether the presenter is a participant is for the caller to check.
func ValidateAgendaItem(title, presenterID string, minutes int32, documentIDs []string) (AgendaItem, []Violation) {
	var vs []Violation
	it := AgendaItem{Title: NormalizeText(title), Minutes: int(minutes)}
	vs = append(vs, checkText("title", it.Title, MaxAgendaTitleLen, true)...)
	if presenterID != "" {
		var pv []Violation
		it.PresenterID, pv = ParseID("presenter_id", presenterID)
		vs = append(vs, pv...)
	}
	if minutes < 0 || minutes > MaxAgendaMinutes {
		vs = append(vs, Violation{"duration_minutes", ReasonOutOfRange, fmt.Sprintf("must be between 0 and %d", MaxAgendaMinutes)})
	}
	if len(documentIDs) > MaxAgendaDocuments {
		vs = append(vs, Violation{"document_ids", ReasonOutOfRange, fmt.Sprintf("must list at most %d documents", MaxAgendaDocuments)})
	}
	it.DocumentIDs = []string{}
	seen := map[string]bool{}
	for i, raw := range documentIDs {
		field := fmt.Sprintf("document_ids[%d]", i)
		id, dv := ParseID(field, raw)
		switch {
		case len(dv) > 0:
			vs = append(vs, dv...)
		case seen[id]:
			vs = append(vs, Violation{field, ReasonDuplicate, "lists a document twice"})
		default:
			seen[id] = true
			it.DocumentIDs = append(it.DocumentIDs, id)
		}
	}
	return it, vs
}

// InsertPosition turns a requested position into where a new item goes in
// an agenda of n items: 0 appends (n+1); 1..n+1 inserts there, shifting the
// items at and after it down by one.
func InsertPosition(requested int32, n int) (int, []Violation) {
	if requested == 0 {
		return n + 1, nil
	}
	if requested < 0 || int(requested) > n+1 {
		return 0, []Violation{{"position", ReasonOutOfRange,
			fmt.Sprintf("must be between 1 and %d (the agenda has %d items), or 0 to append", n+1, n)}}
	}
	return int(requested), nil
}

// CheckReorder validates a new order: it must list every current item
// exactly once and nothing else. It returns the ids in canonical form.
func CheckReorder(current, proposed []string) ([]string, []Violation) {
	out := make([]string, 0, len(proposed))
	seen := map[string]bool{}
	for i, raw := range proposed {
		id, vs := ParseID(fmt.Sprintf("agenda_item_ids[%d]", i), raw)
		if len(vs) > 0 {
			return nil, vs
		}
		if seen[id] {
			return nil, []Violation{{"agenda_item_ids", ReasonDuplicate, fmt.Sprintf("lists item %s twice", id)}}
		}
		seen[id] = true
		out = append(out, id)
	}
	a, b := slices.Clone(current), slices.Clone(out)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		return nil, []Violation{{"agenda_item_ids", ReasonMismatch,
			fmt.Sprintf("must list exactly the %d items of the agenda, each once", len(current))}}
	}
	return out, nil
}
