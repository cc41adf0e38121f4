package demo

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
)

func TestDemoDataIsConsistent(t *testing.T) {
	persons := map[string]bool{}
	cards := map[string]bool{}
	names := map[string]bool{}
	for _, p := range people {
		if persons[p.key] || cards[p.card] || names[p.name] {
			t.Errorf("duplicate person key, card or name: %+v", p)
		}
		persons[p.key], cards[p.card], names[p.name] = true, true, true
		for _, s := range []string{p.name, p.title} {
			if !norm.NFC.IsNormalString(s) {
				t.Errorf("%q is not NFC", s)
			}
		}
		if !strings.ContainsFunc(p.name, func(r rune) bool { return r > 0x7f }) && p.key != "kh5" {
			t.Logf("%q has no diacritics", p.name) // Giàng A Sử has; this is a reminder, not a rule
		}
	}
	if n := len(people); n < 38 || n > 45 {
		t.Errorf("%d people, want about forty", n)
	}

	orgKeys := map[string]bool{"bloc": true}
	for _, o := range orgs {
		if o.parent != "" && !orgKeys[o.parent] {
			t.Errorf("%s's parent %s is not defined before it", o.key, o.parent)
		}
		orgKeys[o.key] = true
		if !norm.NFC.IsNormalString(o.name) {
			t.Errorf("%q is not NFC", o.name)
		}
	}
	if !strings.Contains(strings.Join(orgNames(), "|"), "Chi bộ VNPT Văn Yên") {
		t.Error("the article's cell, Chi bộ VNPT Văn Yên, is missing")
	}

	seen := map[string]bool{}
	var probationary, excused, blocSecretary int
	standingCommittee := map[string]bool{}
	for _, ms := range memberships {
		if !persons[ms.person] || !orgKeys[ms.org] {
			t.Errorf("membership %+v names an unknown person or organisation", ms)
		}
		k := ms.person + " " + ms.org + " " + ms.body.String()
		if seen[k] {
			t.Errorf("duplicate membership %s", k)
		}
		seen[k] = true
		if ms.standing == meetingsv1.Standing_STANDING_PROBATIONARY {
			probationary++
		}
		if ms.excused {
			excused++
		}
		if ms.org == "bloc" && ms.body == standing {
			standingCommittee[ms.person] = true
			if ms.role == secretary {
				blocSecretary++
			}
		}
		if ms.standing == meetingsv1.Standing_STANDING_PROBATIONARY && ms.role != member {
			t.Errorf("%s is probationary but holds %s: a probationary member cannot stand for election", ms.person, ms.role)
		}
	}
	if probationary != 1 || excused != 1 || blocSecretary != 1 {
		t.Errorf("%d probationary, %d excused, %d bloc secretaries; want one each", probationary, excused, blocSecretary)
	}

	roles := map[string]string{}
	for _, a := range accounts {
		if !persons[a.person] {
			t.Errorf("account %s for unknown person %s", a.username, a.person)
		}
		roles[a.role] = a.person
		if len(Password) < 10 || strings.EqualFold(Password, a.username) {
			t.Errorf("the demo password breaks the directory's rules for %s", a.username)
		}
	}
	for _, r := range []string{RoleChair, RoleMinuteTaker, RoleMember, RoleObserver, RoleSystemAdmin} {
		if roles[r] == "" {
			t.Errorf("no %s login", r)
		}
	}
	if roles[RoleChair] != "chair" || !standingCommittee[roles[RoleMember]] || standingCommittee[roles[RoleObserver]] {
		t.Errorf("the chair must be the bloc's secretary, the member on its standing committee, the observer not: %v", roles)
	}
	for _, ms := range memberships {
		if ms.person == roles[RoleObserver] {
			t.Errorf("the observer is a member of %s; they come from above the bloc", ms.org)
		}
	}

	items := agenda(time.Date(2026, 12, 3, 0, 0, 0, 0, vietnam))
	if len(items) < 5 || len(items) > 6 {
		t.Errorf("%d agenda items, want 5-6", len(items))
	}
	for _, it := range items {
		if !standingCommittee[it.presenter] {
			t.Errorf("agenda item %q is presented by %s, who does not take part", it.title, it.presenter)
		}
	}
	if !strings.Contains(items[1].title, "tháng 12; phương hướng, nhiệm vụ tháng 1") {
		t.Errorf("December's report should look ahead to January: %q", items[1].title)
	}
}

func orgNames() []string {
	var out []string
	for _, o := range orgs {
		out = append(out, o.name)
	}
	return out
}

func TestMeetingSlotIsTodayInVietnam(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 26, h, m, 0, 0, vietnam) }
	for _, tc := range []struct {
		name       string
		now        time.Time
		start, end time.Time
	}{
		{"morning: the afternoon slot", at(9, 0), at(14, 0), at(16, 30)},
		// 07:30 in Hà Nội is 00:30 UTC: still the same Vietnamese day.
		{"early morning, given in UTC", at(7, 30).UTC(), at(14, 0), at(16, 30)},
		{"just before the slot: the next quarter hour plus", at(13, 50), at(14, 15), at(16, 45)},
		{"evening", at(20, 7), at(20, 30), at(23, 0)},
		{"late evening: cut at midnight", at(22, 10), at(22, 30), at(23, 59)},
		{"near midnight: the morning", at(22, 40), at(8, 0), at(10, 30)},
	} {
		start, end := meetingSlot(tc.now)
		if !start.Equal(tc.start) || !end.Equal(tc.end) {
			t.Errorf("%s: %v–%v, want %v–%v", tc.name, start.In(vietnam), end.In(vietnam), tc.start, tc.end)
		}
		if start.In(vietnam).Day() != 26 || !end.After(start) {
			t.Errorf("%s: %v–%v is not a slot on the same day", tc.name, start, end)
		}
	}
}
