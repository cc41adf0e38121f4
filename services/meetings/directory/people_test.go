package directory

import (
	"strings"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
)

func TestCreateAndGetPerson(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	top := w.org(t, "", "Đảng bộ Khối", bloc)
	a := w.cell(t, top, "Chi bộ A")

	r, err := w.dir.CreatePerson(testenv.As(adminOf(a)), &meetingsv1.CreatePersonRequest{
		FullName: "  Nguye\u0302\u0303n  Văn An ", Email: " an@vnpt.vn ", Phone: "0912 345 678", PartyCardNumber: "12 345 678"})
	if err != nil {
		t.Fatalf("CreatePerson: %v", err)
	}
	p := r.GetPerson()
	if p.GetFullName() != "Nguyễn Văn An" || p.GetEmail() != "an@vnpt.vn" || p.GetPhone() != "0912 345 678" ||
		p.GetPartyCardNumber() != "12345678" || p.GetCreateTime() == nil {
		t.Errorf("created person = %v", p)
	}
	var folded string
	if err := w.pool.QueryRow(t.Context(), `SELECT name_folded FROM people WHERE id = $1`, p.GetId()).Scan(&folded); err != nil || folded != "nguyen van an" {
		t.Errorf("name_folded = %q, %v", folded, err)
	}

	// Until they belong somewhere, only a system admin (and the person)
	// can read them; then the organisation's members and admins can.
	_, err = w.dir.GetPerson(testenv.As(adminOf(a)), &meetingsv1.GetPersonRequest{PersonId: p.GetId()})
	testenv.Code(t, err, codes.NotFound)
	self := memberOf()
	self.Subject = p.GetId()
	if _, err := w.dir.GetPerson(testenv.As(self), &meetingsv1.GetPersonRequest{PersonId: p.GetId()}); err != nil {
		t.Errorf("person reading themselves: %v", err)
	}
	w.member(t, p.GetId(), a)
	got, err := w.dir.GetPerson(testenv.As(memberOf(a)), &meetingsv1.GetPersonRequest{PersonId: p.GetId()})
	if err != nil || got.GetPerson().GetFullName() != "Nguyễn Văn An" {
		t.Errorf("member reading a fellow member = %v, %v", got, err)
	}
	if _, err := w.dir.GetPerson(testenv.As(adminOf(a)), &meetingsv1.GetPersonRequest{PersonId: p.GetId()}); err != nil {
		t.Errorf("admin reading a member: %v", err)
	}
	b := w.cell(t, top, "Chi bộ B")
	_, err = w.dir.GetPerson(testenv.As(memberOf(b)), &meetingsv1.GetPersonRequest{PersonId: p.GetId()})
	testenv.Code(t, err, codes.NotFound)
	_, err = w.dir.GetPerson(testenv.As(memberOf(a)), &meetingsv1.GetPersonRequest{PersonId: uuid.NewString()})
	testenv.Code(t, err, codes.NotFound)

	// Card numbers are unique, compared after normalisation.
	_, err = w.dir.CreatePerson(testenv.As(adminOf(a)), &meetingsv1.CreatePersonRequest{FullName: "Người khác", PartyCardNumber: "12345678"})
	testenv.Code(t, err, codes.AlreadyExists)
	// Without a card number, namesakes are fine.
	for range 2 {
		if _, err := w.dir.CreatePerson(testenv.As(adminOf(a)), &meetingsv1.CreatePersonRequest{FullName: "Nguyễn Văn An"}); err != nil {
			t.Errorf("namesake without card: %v", err)
		}
	}
	// Only administrators add people.
	_, err = w.dir.CreatePerson(testenv.As(memberOf(a)), &meetingsv1.CreatePersonRequest{FullName: "Trần Văn B"})
	testenv.Code(t, err, codes.PermissionDenied)
}

func TestCreatePersonValidation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := testenv.As(sysAdmin())
	for _, tc := range []struct {
		name string
		req  *meetingsv1.CreatePersonRequest
		want map[string]string
	}{
		{"empty", &meetingsv1.CreatePersonRequest{FullName: "   "}, map[string]string{"full_name": "REQUIRED"}},
		{"everything wrong", &meetingsv1.CreatePersonRequest{FullName: strings.Repeat("Ạ", maxNameLen+1),
			Email: "không phải email", Phone: "gọi tôi", PartyCardNumber: "số thẻ?"},
			map[string]string{"full_name": "TOO_LONG", "email": "INVALID_FORMAT", "phone": "INVALID_FORMAT", "party_card_number": "INVALID_FORMAT"}},
		{"short phone, email without domain", &meetingsv1.CreatePersonRequest{FullName: "A", Phone: "12345", Email: "a@b"},
			map[string]string{"phone": "INVALID_FORMAT", "email": "INVALID_FORMAT"}},
		{"long card", &meetingsv1.CreatePersonRequest{FullName: "A", PartyCardNumber: strings.Repeat("1", maxCardLen+1)},
			map[string]string{"party_card_number": "TOO_LONG"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.dir.CreatePerson(ctx, tc.req)
			wantViolations(t, err, tc.want)
		})
	}
	// HTML is stored as typed; the web app shows it as text.
	r, err := w.dir.CreatePerson(ctx, &meetingsv1.CreatePersonRequest{FullName: `<script>alert("x")</script>`})
	if err != nil || r.GetPerson().GetFullName() != `<script>alert("x")</script>` {
		t.Errorf("HTML name = %v, %v", r, err)
	}
}

func TestSearchPeople(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	top := w.org(t, "", "Đảng bộ Khối", bloc)
	a := w.cell(t, top, "Chi bộ A")
	b := w.cell(t, top, "Chi bộ B")
	an := w.person(t, "Nguyễn Văn An", "A001")
	w.member(t, an, a)
	w.member(t, w.person(t, "Nguyễn Thị Bình", ""), a)
	w.member(t, w.person(t, "Trần Văn Ân", ""), a)
	w.member(t, w.person(t, "Đặng Thu Hà", ""), a)
	w.member(t, w.person(t, "Nguyễn Văn Anh", ""), b)
	w.person(t, "Lê Văn Không Thuộc Đâu", "") // in no organisation

	for _, tc := range []struct {
		name  string
		who   string
		query string
		org   string
		want  []string // in order
	}{
		{"without diacritics", "member", "nguyen van an", "", []string{"Nguyễn Văn An"}},
		{"with diacritics", "member", "Nguyễn Văn An", "", []string{"Nguyễn Văn An"}},
		{"upper case", "member", "NGUYỄN", "", []string{"Nguyễn Thị Bình", "Nguyễn Văn An"}},
		{"partial words in any order", "member", "an ngu", "", []string{"Nguyễn Văn An"}},
		{"đ as d", "member", "dang thu", "", []string{"Đặng Thu Hà"}},
		// "Đặng" contains "an" too, but not as a word.
		{"given name, whole word first", "member", "an", "", []string{"Nguyễn Văn An", "Trần Văn Ân", "Đặng Thu Hà"}},
		{"card number", "member", "a001", "", []string{"Nguyễn Văn An"}},
		{"like wildcards are literal", "member", "%", "", nil},
		{"empty lists what the caller may see", "member", "", "", []string{"Đặng Thu Hà", "Nguyễn Thị Bình", "Nguyễn Văn An", "Trần Văn Ân"}},
		{"other organisation hidden", "member", "anh", "", nil},
		{"system admin sees all, whole word first", "sysadmin", "nguyen van an", "", []string{"Nguyễn Văn An", "Nguyễn Văn Anh"}},
		{"system admin, one organisation", "sysadmin", "nguyen", b, []string{"Nguyễn Văn Anh"}},
		{"system admin sees people in no organisation", "sysadmin", "khong thuoc", "", []string{"Lê Văn Không Thuộc Đâu"}},
		{"admin of both", "admin", "van", "", []string{"Nguyễn Văn An", "Nguyễn Văn Anh", "Trần Văn Ân"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := map[string]identity.Claims{"member": memberOf(a), "sysadmin": sysAdmin(), "admin": adminOf(a, b)}[tc.who]
			r, err := w.dir.SearchPeople(testenv.As(c), &meetingsv1.SearchPeopleRequest{Query: tc.query, OrganizationId: tc.org})
			if err != nil {
				t.Fatalf("SearchPeople: %v", err)
			}
			if diff := cmp.Diff(tc.want, names(r.GetPeople())); diff != "" {
				t.Errorf("found (-want +got):\n%s", diff)
			}
		})
	}

	_, err := w.dir.SearchPeople(testenv.As(memberOf(a)), &meetingsv1.SearchPeopleRequest{Query: "an", OrganizationId: b})
	testenv.Code(t, err, codes.NotFound)
	_, err = w.dir.SearchPeople(testenv.As(memberOf(a)), &meetingsv1.SearchPeopleRequest{Query: strings.Repeat("a", maxQueryLen+1), PageSize: -1, OrganizationId: "x"})
	wantViolations(t, err, map[string]string{"query": "TOO_LONG", "page_size": "OUT_OF_RANGE", "organization_id": "INVALID_FORMAT"})

	r, err := w.dir.SearchPeople(testenv.As(memberOf(a)), &meetingsv1.SearchPeopleRequest{PageSize: 2})
	if err != nil || len(r.GetPeople()) != 2 {
		t.Errorf("page_size 2 = %v, %v", r, err)
	}
}
