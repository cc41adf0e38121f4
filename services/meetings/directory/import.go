package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/ecabinet/ecabinet/services/platform/unaccent"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const maxFileNameLen = 255

// errImportRaced is a real import whose checks passed but whose writes hit
// a row another request wrote meanwhile (a unique index said no).
var errImportRaced = errors.New("directory changed during the import")

func (s *directoryServer) ImportMembers(ctx context.Context, req *meetingsv1.ImportMembersRequest) (*meetingsv1.ImportMembersResponse, error) {
	c, err := s.d.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	org, vs := parseID("organization_id", req.GetOrganizationId())
	if len(vs) == 0 && !c.IsOrgAdmin(org) {
		return nil, status.Errorf(codes.PermissionDenied, "%s: importing members into organisation %s needs administrator rights there", service, org)
	}
	fileName := normalize(req.GetFileName())
	vs = append(vs, checkText("file_name", fileName, maxFileNameLen, false)...)
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	if _, err := s.d.Organization(ctx, org); errors.Is(err, ErrNotFound) {
		return nil, orgNotFound(org)
	} else if err != nil {
		return nil, s.d.storeErr(ctx, "ImportMembers", err)
	}

	resp := &meetingsv1.ImportMembersResponse{}
	sh, fileProblem := readSheet(req.GetContent(), fileName)
	if fileProblem != "" {
		resp.Problems = []*meetingsv1.ImportProblem{{Row: 0, Reason: fileProblem}}
		return resp, nil
	}
	tab, ps := readRows(sh, today())
	resp.Rows = int32(tab.n)
	if hasFileProblem(ps) {
		resp.Problems = capProblems(ps)
		return resp, nil
	}

	// The same checks run in the dry run and, again, inside the real
	// import's transaction: the directory may have changed in between.
	opts := pgx.TxOptions{AccessMode: pgx.ReadOnly}
	if !req.GetDryRun() {
		opts = pgx.TxOptions{}
	}
	err = pgx.BeginTxFunc(ctx, s.d.pool, opts, func(tx pgx.Tx) error {
		if !req.GetDryRun() {
			// One import at a time per organisation, so two admins
			// importing the same list cannot both pass the checks.
			if _, err := tx.Exec(ctx, `SELECT 1 FROM organizations WHERE id = $1 FOR NO KEY UPDATE`, org); err != nil {
				return fmt.Errorf("lock organisation: %w", err)
			}
		}
		p, err := planImport(ctx, tx, org, tab)
		if err != nil {
			return err
		}
		ps = append(ps, p.problems...)
		resp.PeopleCreated, resp.MembershipsCreated = int32(len(p.newPeople)), int32(len(p.memberships))
		if len(ps) > 0 || req.GetDryRun() {
			return nil // nothing to write; the transaction ends unused
		}
		if err := p.apply(ctx, tx); err != nil {
			return err
		}
		resp.Applied = true
		return nil
	})
	if errors.Is(err, errImportRaced) {
		return nil, status.Errorf(codes.Aborted, "%s: the directory changed during the import; nothing was written, try again", service)
	}
	if err != nil {
		return nil, s.d.storeErr(ctx, "ImportMembers", err)
	}
	if len(ps) > 0 {
		// With problems nothing was written; the counts say what a
		// corrected file would create.
		resp.Applied = false
		slices.SortStableFunc(ps, func(a, b *meetingsv1.ImportProblem) int { return int(a.GetRow()) - int(b.GetRow()) })
		resp.Problems = capProblems(ps)
	}
	return resp, nil
}

func hasFileProblem(ps problemList) bool {
	return slices.ContainsFunc(ps, func(p *meetingsv1.ImportProblem) bool { return p.GetRow() == 0 })
}

// capProblems keeps the response to a readable size; a file with more
// problems than this is the wrong file or needs fixing at its source.
func capProblems(ps problemList) []*meetingsv1.ImportProblem {
	if len(ps) <= maxImportProblems {
		return ps
	}
	out := slices.Clone(ps[:maxImportProblems])
	return append(out, &meetingsv1.ImportProblem{Row: 0,
		Reason: fmt.Sprintf("Còn %d lỗi khác không được liệt kê; hãy sửa các lỗi trên rồi kiểm tra lại.", len(ps)-maxImportProblems)})
}

// importPlan is what a checked file will write.
type importPlan struct {
	org         string
	problems    problemList
	newPeople   []*plannedPerson
	memberships []plannedMembership
}

// plannedPerson is a person of the file: an existing one (ID set) or one to
// create.
type plannedPerson struct {
	ID     string
	Fields personFields
	Row    int // first row naming them
}

type plannedMembership struct {
	Person *plannedPerson
	Row    importRow
}

// existingMember is a current membership of the organisation.
type existingMember struct {
	PersonID, NameFolded, Email, Phone, Card string
	Body, Role, Standing                     string
	Excused                                  bool
}

// planImport checks the rows against each other and against the
// directory, deciding for every row which person it is (one from an
// earlier row, one already in the directory, or a new one) and whether its
// membership is new, already there, or in conflict.
func planImport(ctx context.Context, q querier, org string, tab table) (*importPlan, error) {
	plan := &importPlan{org: org}
	bad := func(row int, col column, reason string) {
		h := ""
		if col >= 0 {
			h = tab.headers[col]
		}
		plan.problems.add(row, h, reason)
	}
	rows := tab.rows

	byCard, err := peopleByCard(ctx, q, rows)
	if err != nil {
		return nil, err
	}
	members, err := currentMembers(ctx, q, org)
	if err != nil {
		return nil, err
	}

	// Persons of the file by key: the card number, or without one the
	// folded name with e-mail and phone (two namesakes told apart by
	// their contact details are two people).
	type seenPerson struct {
		p        *plannedPerson
		standing meetingsv1.Standing
		bodies   map[meetingsv1.BodyKind]int // body -> row
	}
	seen := map[string]*seenPerson{}
	// Rows with a card number by folded name: a row without one that
	// names the same person (as far as its contact details tell) is most
	// likely them, and importing it would make a second person.
	carded := map[string][]importRow{}
	for _, r := range rows {
		if r.Person.Card != "" {
			carded[unaccent.Fold(r.Person.FullName)] = append(carded[unaccent.Fold(r.Person.FullName)], r)
		}
	}
	for _, r := range rows {
		key := personKey(r.Person)
		if sp, ok := seen[key]; ok {
			switch {
			case r.Person.Card != "" && unaccent.Fold(r.Person.FullName) != unaccent.Fold(sp.p.Fields.FullName):
				bad(r.Row, colCard, fmt.Sprintf("Số thẻ đảng %s trùng với dòng %d nhưng họ tên khác (%s).", r.Person.Card, sp.p.Row, sp.p.Fields.FullName))
			case sp.bodies[r.Body] != 0:
				bad(r.Row, -1, fmt.Sprintf("Trùng với dòng %d: cùng một người, cùng cơ quan.", sp.bodies[r.Body]))
			case r.Standing != sp.standing:
				bad(r.Row, colStanding, fmt.Sprintf("Loại đảng viên khác với dòng %d của cùng người này.", sp.p.Row))
			default:
				sp.bodies[r.Body] = r.Row
				plan.addMembership(sp.p, r, members, bad)
			}
			continue
		}

		p := &plannedPerson{Fields: r.Person, Row: r.Row}
		if r.Person.Card != "" {
			if ex, ok := byCard[r.Person.Card]; ok {
				if ex.NameFolded != unaccent.Fold(r.Person.FullName) {
					// Not naming the holder: they may be in an
					// organisation the importer cannot see.
					bad(r.Row, colCard, fmt.Sprintf("Số thẻ đảng %s đã thuộc về một người có họ tên khác trong danh bạ.", r.Person.Card))
					continue
				}
				p.ID = ex.PersonID
			}
		} else if i := slices.IndexFunc(carded[unaccent.Fold(r.Person.FullName)], func(c importRow) bool {
			return sameOrEmpty(c.Person.Email, r.Person.Email) && sameOrEmpty(digits(c.Person.Phone), digits(r.Person.Phone))
		}); i >= 0 {
			bad(r.Row, colName, fmt.Sprintf("Trùng họ tên với dòng %d (có Số thẻ đảng): nếu là cùng một người, hãy ghi Số thẻ đảng; nếu là người khác, hãy ghi Email hoặc Điện thoại để phân biệt.",
				carded[unaccent.Fold(r.Person.FullName)][i].Row))
			continue
		} else {
			// Without a card number, a current member of this
			// organisation with the same name (and the same contact
			// details where both have them) is the same person, so
			// importing a list twice does not duplicate anyone.
			var ids []string
			for _, m := range members {
				if m.NameFolded == unaccent.Fold(r.Person.FullName) && sameOrEmpty(m.Email, r.Person.Email) &&
					sameOrEmpty(digits(m.Phone), digits(r.Person.Phone)) && !slices.Contains(ids, m.PersonID) {
					ids = append(ids, m.PersonID)
				}
			}
			switch len(ids) {
			case 0:
			case 1:
				p.ID = ids[0]
			default:
				bad(r.Row, colName, fmt.Sprintf("Tổ chức đã có %d người tên %s: hãy ghi Số thẻ đảng để phân biệt.", len(ids), r.Person.FullName))
				continue
			}
		}
		seen[key] = &seenPerson{p: p, standing: r.Standing, bodies: map[meetingsv1.BodyKind]int{r.Body: r.Row}}
		if p.ID == "" {
			plan.newPeople = append(plan.newPeople, p)
		}
		plan.addMembership(p, r, members, bad)
	}
	return plan, nil
}

// addMembership plans row r's membership for p unless p already has it:
// an identical current membership is left alone (importing the same list
// twice changes nothing), a different one is a problem, since the import
// does not overwrite what an administrator set by hand.
func (plan *importPlan) addMembership(p *plannedPerson, r importRow, members []existingMember, bad func(int, column, string)) {
	if p.ID != "" {
		for _, m := range members {
			if m.PersonID != p.ID || m.Body != r.Body.String() {
				continue
			}
			if m.Role == r.Role.String() && m.Standing == r.Standing.String() && m.Excused == r.Excused {
				return
			}
			bad(r.Row, -1, fmt.Sprintf("%s đã là thành viên %s của tổ chức với chức vụ, loại đảng viên hoặc miễn sinh hoạt khác; hãy sửa trực tiếp trong danh sách thành viên.",
				r.Person.FullName, bodyLabel(r.Body)))
			return
		}
	}
	plan.memberships = append(plan.memberships, plannedMembership{Person: p, Row: r})
}

// apply writes the plan: new people, then memberships, in the caller's
// transaction, pipelined in one batch each.
func (plan *importPlan) apply(ctx context.Context, tx pgx.Tx) error {
	batch := &pgx.Batch{}
	for _, p := range plan.newPeople {
		id, err := newID()
		if err != nil {
			return err
		}
		p.ID = id
		var card *string
		if p.Fields.Card != "" {
			card = &p.Fields.Card
		}
		batch.Queue(`INSERT INTO people (id, full_name, name_folded, email, phone, party_card_number) VALUES ($1, $2, $3, $4, $5, $6)`,
			p.ID, p.Fields.FullName, unaccent.Fold(p.Fields.FullName), p.Fields.Email, p.Fields.Phone, card)
	}
	for _, m := range plan.memberships {
		id, err := newID()
		if err != nil {
			return err
		}
		r := m.Row
		batch.Queue(`INSERT INTO memberships (id, person_id, organization_id, body, role, standing, excused, start_date)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			id, m.Person.ID, plan.org, r.Body.String(), r.Role.String(), r.Standing.String(), r.Excused, r.Start)
	}
	err := tx.SendBatch(ctx, batch).Close()
	if isUniqueViolation(err, "people_party_card") || isUniqueViolation(err, "memberships_current") {
		return errImportRaced
	}
	if err != nil {
		return fmt.Errorf("write import: %w", err)
	}
	return nil
}

func peopleByCard(ctx context.Context, q querier, rows []importRow) (map[string]existingMember, error) {
	var cards []string
	for _, r := range rows {
		if r.Person.Card != "" {
			cards = append(cards, r.Person.Card)
		}
	}
	out := map[string]existingMember{}
	if len(cards) == 0 {
		return out, nil
	}
	rs, err := q.Query(ctx, `SELECT id, name_folded, party_card_number FROM people WHERE party_card_number = ANY($1)`, cards)
	if err != nil {
		return nil, fmt.Errorf("people by card: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var m existingMember
		if err := rs.Scan(&m.PersonID, &m.NameFolded, &m.Card); err != nil {
			return nil, fmt.Errorf("people by card: %w", err)
		}
		out[m.Card] = m
	}
	return out, rs.Err()
}

func currentMembers(ctx context.Context, q querier, org string) ([]existingMember, error) {
	rs, err := q.Query(ctx, `
		SELECT m.person_id, p.name_folded, p.email, p.phone, coalesce(p.party_card_number, ''), m.body, m.role, m.standing, m.excused
		FROM memberships m JOIN people p ON p.id = m.person_id
		WHERE m.organization_id = $1 AND m.end_date IS NULL`, org)
	if err != nil {
		return nil, fmt.Errorf("current members: %w", err)
	}
	return pgx.CollectRows(rs, func(r pgx.CollectableRow) (existingMember, error) {
		var m existingMember
		err := r.Scan(&m.PersonID, &m.NameFolded, &m.Email, &m.Phone, &m.Card, &m.Body, &m.Role, &m.Standing, &m.Excused)
		return m, err
	})
}

func personKey(p personFields) string {
	if p.Card != "" {
		return "card:" + p.Card
	}
	return "name:" + unaccent.Fold(p.FullName) + "|" + strings.ToLower(p.Email) + "|" + digits(p.Phone)
}

func sameOrEmpty(a, b string) bool { return a == "" || b == "" || strings.EqualFold(a, b) }

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func bodyLabel(b meetingsv1.BodyKind) string {
	switch b {
	case meetingsv1.BodyKind_BODY_KIND_EXECUTIVE_COMMITTEE:
		return "Ban Chấp hành"
	case meetingsv1.BodyKind_BODY_KIND_STANDING_COMMITTEE:
		return "Ban Thường vụ"
	case meetingsv1.BodyKind_BODY_KIND_STANDING_MEMBERS:
		return "Thường trực"
	default:
		return "toàn chi bộ"
	}
}
