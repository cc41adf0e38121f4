package demo

import (
	"fmt"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
)

// The demo deployment, modelled on the source article (../shared/seed): a
// bloc party committee of provincial agencies and enterprises with a few of
// its grassroots organisations, among them the VNPT Văn Yên cell whose
// monthly meeting the article pictures. Names are invented; all text is NFC.

// BlocName identifies the demo data: a deployment that has an organisation
// of this name has been given the demo.
const BlocName = "Đảng bộ Khối các cơ quan và doanh nghiệp tỉnh Yên Bái"

// Password is every demo account's password. The data is for trying the
// product out; never load it into a deployment that holds real data.
const Password = "ecabinet-demo"

// org is one organisation below the bloc (parent "" = the bloc itself).
type org struct {
	key, parent, name string
	kind              meetingsv1.OrganizationKind
}

var orgs = []org{
	{"vnpt", "", "Đảng bộ VNPT Yên Bái", meetingsv1.OrganizationKind_ORGANIZATION_KIND_GRASSROOTS_COMMITTEE},
	{"vnpt-vanyen", "vnpt", "Chi bộ VNPT Văn Yên", meetingsv1.OrganizationKind_ORGANIZATION_KIND_CELL},
	{"evn", "", "Đảng bộ Công ty Điện lực Yên Bái", meetingsv1.OrganizationKind_ORGANIZATION_KIND_GRASSROOTS_COMMITTEE},
	{"sgd", "", "Đảng bộ Sở Giáo dục và Đào tạo", meetingsv1.OrganizationKind_ORGANIZATION_KIND_GRASSROOTS_COMMITTEE},
	{"stp", "", "Chi bộ Sở Tư pháp", meetingsv1.OrganizationKind_ORGANIZATION_KIND_GRASSROOTS_CELL},
	{"skhcn", "", "Chi bộ Sở Khoa học và Công nghệ", meetingsv1.OrganizationKind_ORGANIZATION_KIND_GRASSROOTS_CELL},
}

// person is one demo person; the party card number (unique in the
// directory) is how a second run finds them again.
type person struct {
	key, name, card string
	// title is what the printed logins say about them.
	title string
}

// membership places a person in an organisation's body ("bloc" = the bloc).
type membership struct {
	person, org string
	body        meetingsv1.BodyKind
	role        meetingsv1.PartyRole
	standing    meetingsv1.Standing
	excused     bool
}

const (
	allMembers = meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS
	executive  = meetingsv1.BodyKind_BODY_KIND_EXECUTIVE_COMMITTEE
	standing   = meetingsv1.BodyKind_BODY_KIND_STANDING_COMMITTEE
	permanent  = meetingsv1.BodyKind_BODY_KIND_STANDING_MEMBERS

	secretary = meetingsv1.PartyRole_PARTY_ROLE_SECRETARY
	deputy    = meetingsv1.PartyRole_PARTY_ROLE_DEPUTY_SECRETARY
	committee = meetingsv1.PartyRole_PARTY_ROLE_COMMITTEE_MEMBER
	member    = meetingsv1.PartyRole_PARTY_ROLE_MEMBER

	official     = meetingsv1.Standing_STANDING_OFFICIAL
	probationary = meetingsv1.Standing_STANDING_PROBATIONARY
)

var people = []person{
	// The bloc's standing committee (Ban Thường vụ).
	{"chair", "Nguyễn Mạnh Cường", "15.001201", "Bí thư Đảng ủy Khối"},
	{"deputy1", "Trần Thị Thu Hương", "15.001202", "Phó Bí thư Thường trực Đảng ủy Khối"},
	{"deputy2", "Hà Đức Thịnh", "15.001203", "Phó Bí thư Đảng ủy Khối"},
	{"inspection", "Lương Văn Tiến", "15.001204", "Ủy viên Ban Thường vụ, Chủ nhiệm Ủy ban Kiểm tra Đảng ủy Khối"},
	{"member", "Đỗ Thị Minh Ngọc", "15.001205", "Ủy viên Ban Thường vụ, Trưởng Ban Tuyên giáo Đảng ủy Khối"},
	{"organisation", "Vũ Quang Huy", "15.001206", "Ủy viên Ban Thường vụ, Trưởng Ban Tổ chức Đảng ủy Khối"},
	{"union", "Nông Thị Lan", "15.001207", "Ủy viên Ban Thường vụ Đảng ủy Khối"},
	// The rest of the bloc's executive committee (Ban Chấp hành).
	{"minutes", "Lê Thị Hồng Nhung", "15.001208", "Ủy viên Ban Chấp hành, Chánh Văn phòng Đảng ủy Khối (thư ký hội nghị)"},
	{"bch1", "Bùi Văn Khánh", "15.001209", ""},
	{"bch2", "Đinh Thị Thảo", "15.001210", ""},
	{"bch3", "Triệu Văn Sáng", "15.001211", ""},
	{"bch4", "Phan Minh Đức", "15.001212", ""},
	{"bch5", "Lò Thị Mai", "15.001213", ""},
	// Đảng bộ VNPT Yên Bái.
	{"vnpt1", "Ngô Văn Thành", "15.002101", ""},
	{"vnpt2", "Đặng Thị Hải Yến", "15.002102", ""},
	{"vnpt3", "Cao Xuân Trường", "15.002103", ""},
	// Chi bộ VNPT Văn Yên.
	{"vy1", "Hoàng Văn Quý", "15.002201", ""},
	{"vy2", "Nguyễn Thị Bích Ngọc", "15.002202", ""},
	{"vy3", "Trần Văn Long", "15.002203", ""},
	{"vy4", "Phạm Thị Hoa", "15.002204", ""},
	{"vy5", "Lưu Đình Tuấn", "15.002205", ""},
	{"vy6", "Mai Thị Hằng", "15.002206", ""},
	{"vy7", "Hà Văn Dũng", "15.002207", ""},
	{"vy8", "Nguyễn Văn Bảy", "15.002208", ""},
	// Đảng bộ Công ty Điện lực Yên Bái.
	{"evn1", "Dương Văn Toàn", "15.003101", ""},
	{"evn2", "Tạ Thị Phương", "15.003102", ""},
	{"evn3", "Kiều Minh Tâm", "15.003103", ""},
	// Đảng bộ Sở Giáo dục và Đào tạo.
	{"sgd1", "Vương Thị Thu Trang", "15.004101", ""},
	{"sgd2", "Lê Đức Anh", "15.004102", ""},
	{"sgd3", "Hoàng Thị Nga", "15.004103", ""},
	// Chi bộ Sở Tư pháp.
	{"stp1", "Trịnh Văn Hải", "15.005101", ""},
	{"stp2", "Nguyễn Thị Kim Oanh", "15.005102", ""},
	{"stp3", "Đoàn Văn Lực", "15.005103", ""},
	{"stp4", "Phùng Thị Lệ", "15.005104", ""},
	{"stp5", "Chu Văn Kiên", "15.005105", ""},
	// Chi bộ Sở Khoa học và Công nghệ.
	{"kh1", "Quách Thị Huyền", "15.006101", ""},
	{"kh2", "Đào Văn Phúc", "15.006102", ""},
	{"kh3", "Lã Thị Thúy", "15.006103", ""},
	{"kh4", "Tống Văn Bình", "15.006104", ""},
	{"kh5", "Giàng A Sử", "15.006105", ""},
	// From the provincial party committee, above the bloc: attends the
	// bloc's meeting as an observer without being one of its members.
	{"observer", "Hoàng Văn Tường", "15.000101", "Ủy viên Ban Thường vụ Tỉnh ủy (cấp trên, dự họp)"},
	// Runs the system; no party role here.
	{"admin", "Lê Minh Tuấn", "15.000102", "Quản trị hệ thống"},
}

func m(personKey, orgKey string, body meetingsv1.BodyKind, role meetingsv1.PartyRole) membership {
	return membership{person: personKey, org: orgKey, body: body, role: role, standing: official}
}

var memberships = func() []membership {
	var ms []membership
	// Bloc: standing committee, standing members and executive committee.
	for _, p := range []struct {
		key  string
		role meetingsv1.PartyRole
	}{
		{"chair", secretary}, {"deputy1", deputy}, {"deputy2", deputy},
		{"inspection", committee}, {"member", committee}, {"organisation", committee}, {"union", committee},
	} {
		ms = append(ms, m(p.key, "bloc", standing, p.role), m(p.key, "bloc", executive, p.role))
		if p.role != committee {
			ms = append(ms, m(p.key, "bloc", permanent, p.role))
		}
	}
	for _, k := range []string{"minutes", "bch1", "bch2", "bch3", "bch4", "bch5"} {
		ms = append(ms, m(k, "bloc", executive, committee))
	}
	// Grassroots committees: their executive committees.
	for _, g := range []struct{ org, prefix string }{{"vnpt", "vnpt"}, {"evn", "evn"}, {"sgd", "sgd"}} {
		ms = append(ms,
			m(g.prefix+"1", g.org, executive, secretary),
			m(g.prefix+"2", g.org, executive, deputy),
			m(g.prefix+"3", g.org, executive, committee))
	}
	// Cells: every member, with a secretary and a deputy.
	for _, c := range []struct {
		org, prefix string
		n           int
	}{{"vnpt-vanyen", "vy", 8}, {"stp", "stp", 5}, {"skhcn", "kh", 5}} {
		for i := 1; i <= c.n; i++ {
			role := member
			switch i {
			case 1:
				role = secretary
			case 2:
				role = deputy
			}
			ms = append(ms, m(fmt.Sprintf("%s%d", c.prefix, i), c.org, allMembers, role))
		}
	}
	for i := range ms {
		switch ms[i].person {
		case "vy7": // admitted this year: attends and speaks, does not vote
			ms[i].standing = probationary
		case "vy8": // older member excused from party activities
			ms[i].excused = true
		}
	}
	return ms
}()

// Role names the printed logins use.
const (
	RoleChair       = "chair"
	RoleMinuteTaker = "minute-taker"
	RoleMember      = "member"
	RoleObserver    = "observer"
	RoleSystemAdmin = "system admin"
)

// account is a demo login.
type account struct {
	username, person, role string
	systemAdmin            bool
	adminOfBloc            bool
}

var accounts = []account{
	{username: "chutri", person: "chair", role: RoleChair},
	// The minute-taker administers the bloc, so they can prepare meetings.
	{username: "thuky", person: "minutes", role: RoleMinuteTaker, adminOfBloc: true},
	{username: "uyvien", person: "member", role: RoleMember},
	{username: "quansat", person: "observer", role: RoleObserver},
	{username: "quantri", person: "admin", role: RoleSystemAdmin, systemAdmin: true},
}

// The demo meeting: the bloc's standing committee, today.
const (
	meetingPlace  = "Phòng họp số 1, trụ sở Đảng ủy Khối"
	meetingStart  = 14 * time.Hour
	meetingLength = 150 * time.Minute
)

func meetingTitle(day time.Time) string {
	return fmt.Sprintf("Hội nghị Ban Thường vụ Đảng ủy Khối tháng %d/%d", day.Month(), day.Year())
}

// agendaItem is one item of the demo meeting; presenter is a person key.
type agendaItem struct {
	title     string
	presenter string
	minutes   int32
}

func agenda(day time.Time) []agendaItem {
	month, year := int(day.Month()), day.Year()
	next := month%12 + 1
	return []agendaItem{
		{"Khai mạc, thông qua chương trình hội nghị", "chair", 10},
		{fmt.Sprintf("Báo cáo kết quả lãnh đạo, chỉ đạo thực hiện nhiệm vụ tháng %d; phương hướng, nhiệm vụ tháng %d", month, next), "deputy1", 30},
		{fmt.Sprintf("Dự thảo Báo cáo tổng kết công tác xây dựng Đảng năm %d", year), "deputy2", 30},
		{"Kết quả kiểm tra, giám sát đối với tổ chức đảng và đảng viên; đề xuất kế hoạch kiểm tra chuyên đề", "inspection", 20},
		{"Kế hoạch tổ chức hội nghị học tập, quán triệt nghị quyết trực tuyến đến các điểm cầu", "member", 20},
		{"Thảo luận và kết luận của đồng chí Bí thư Đảng ủy Khối", "chair", 20},
	}
}
