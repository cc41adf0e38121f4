package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// pollBody is the JSON of a Poll as the voting flow needs it.
type pollBody struct {
	ID           string `json:"id"`
	MeetingID    string `json:"meetingId"`
	AgendaItemID string `json:"agendaItemId"`
	Title        string `json:"title"`
	Kind         string `json:"kind"`
	Secret       bool   `json:"secret"`
	State        string `json:"state"`
	Version      int64  `json:"version,string"`
	BallotsCast  int    `json:"ballotsCast"`
	Entitled     int    `json:"entitled"`
	Choices      []struct {
		ID    string `json:"id"`
		Label string `json:"label"`
	} `json:"choices"`
	MyStatus *struct {
		Entitled bool   `json:"entitled"`
		Voted    bool   `json:"voted"`
		Reason   string `json:"reason"`
	} `json:"myStatus"`
}

type pollResponse struct {
	Poll   pollBody   `json:"poll"`
	Result resultBody `json:"result"`
}

type resultBody struct {
	Outcome     string `json:"outcome"`
	BallotsCast int    `json:"ballotsCast"`
	Valid       int    `json:"validBallots"`
	Entitled    int    `json:"entitled"`
	Rule        string `json:"rule"`
	Summary     string `json:"summary"`
	Counts      []struct {
		ChoiceID string `json:"choiceId"`
		Count    int    `json:"count"`
	} `json:"counts"`
	NamedVotes []struct {
		PersonID string `json:"personId"`
	} `json:"namedVotes"`
}

type ballotResponse struct {
	Receipt string   `json:"receipt"`
	Poll    pollBody `json:"poll"`
}

// uuid4 is a fresh idempotency key, as a tablet makes one per ballot.
func uuid4(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// votingMeeting is GET /api/v1/meetings/{id} with what the voting flow
// needs of the participants.
// startTodaysMeeting starts today's demo meeting as c (who runs it) and
// returns it as it then is.
func (c *authClient) startTodaysMeeting() votingMeeting {
	c.t.Helper()
	base := "/api/v1/meetings/" + c.todaysDemoMeeting().ID
	must(c.t, "start the meeting", c.call(http.MethodPost, base+":start", map[string]any{}, nil), http.StatusOK)
	var got struct {
		Meeting votingMeeting `json:"meeting"`
	}
	must(c.t, "get the meeting", c.call(http.MethodGet, base, nil, &got), http.StatusOK)
	return got.Meeting
}

type votingMeeting struct {
	ID             string `json:"id"`
	OrganizationID string `json:"organizationId"`
	State          string `json:"state"`
	Agenda         []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"agenda"`
	Participants []struct {
		PersonID    string `json:"personId"`
		FullName    string `json:"fullName"`
		Role        string `json:"role"`
		VotingRight bool   `json:"votingRight"`
		Attendance  string `json:"attendance"`
	} `json:"participants"`
}

// A secret motion on the demo meeting through the gateway, as the tablets
// drive it: the chair creates and opens it; five checked-in members of the
// standing committee vote (four agree, one disagrees); a second, different
// ballot is refused while a retry with the same key returns the same
// receipt; an outsider finds no such poll, and a participant who has not
// checked in and the observer are refused; the result stays the chair's
// until published; every voter finds their receipt's hash in the published
// list of counted ballots, which recounts to the result; and the meetings
// service writes the result into the minutes of the agenda item.
func TestSecretMotionFromOpeningToTheMinutes(t *testing.T) {
	p, logins := startWithDemo(t)
	chair, taker, member, observer := newAuthClient(t, p), newAuthClient(t, p), newAuthClient(t, p), newAuthClient(t, p)
	chairID := chair.login(logins["chair"]).Principal.PersonID
	taker.login(logins["minute-taker"])
	memberID := member.login(logins["member"]).Principal.PersonID
	observer.login(logins["observer"])

	m := taker.startTodaysMeeting()
	id, base := m.ID, "/api/v1/meetings/"+m.ID
	byName := map[string]string{}
	var observerID string
	for _, pt := range m.Participants {
		byName[pt.FullName] = pt.PersonID
		if pt.Role == "PARTICIPANT_ROLE_OBSERVER" {
			observerID = pt.PersonID
		}
	}
	// Three more of the standing committee vote with tokens minted for them
	// (the demo gives logins to the chair and one member only); a fourth is
	// a participant who never checks in.
	others := map[string]string{}
	for _, name := range []string{"Trần Thị Thu Hương", "Vũ Quang Huy", "Nông Thị Lan", "Hà Đức Thịnh"} {
		pid, ok := byName[name]
		if !ok {
			t.Fatalf("%s is not a participant of the demo meeting: %+v", name, m.Participants)
		}
		others[name] = pid
	}
	bearer := func(personID, name string) *authClient {
		c := newAuthClient(t, p)
		c.bearer = p.Token(t, identity.Claims{Subject: personID, Name: name, Orgs: []string{m.OrganizationID}})
		return c
	}
	huong, huy, lan := bearer(others["Trần Thị Thu Hương"], "Trần Thị Thu Hương"), bearer(others["Vũ Quang Huy"], "Vũ Quang Huy"), bearer(others["Nông Thị Lan"], "Nông Thị Lan")
	absent := bearer(others["Hà Đức Thịnh"], "Hà Đức Thịnh")
	// Someone of another organisation altogether.
	outsider := newAuthClient(t, p)
	outsider.bearer = p.Token(t, identity.Claims{Subject: "00000000-0000-4000-8000-0000000000aa", Name: "Người ngoài", Orgs: []string{"00000000-0000-4000-8000-0000000000bb"}})

	// Five voting members check in (quorum: 5 of the 7 of the standing
	// committee), and the observer too, who never votes.
	for _, pid := range []string{chairID, memberID, others["Trần Thị Thu Hương"], others["Vũ Quang Huy"], others["Nông Thị Lan"], observerID} {
		must(t, "mark "+pid+" present", taker.call(http.MethodPost, base+"/attendance", map[string]any{
			"personId": pid, "attendance": "ATTENDANCE_PRESENT",
		}, nil), http.StatusOK)
	}

	// The chair creates a secret motion on the first agenda item and opens it.
	item := m.Agenda[0].ID
	var created pollResponse
	must(t, "create the poll", chair.call(http.MethodPost, base+"/polls", map[string]any{
		"organizationId": m.OrganizationID,
		"agendaItemId":   item,
		"title":          "Thông qua Nghị quyết về phương hướng nhiệm vụ năm 2027",
		"kind":           "POLL_KIND_MOTION",
		"secret":         true,
	}, &created), http.StatusOK)
	poll := created.Poll
	if poll.State != "POLL_STATE_DRAFT" || !poll.Secret || poll.MeetingID != id || poll.AgendaItemID != item || len(poll.Choices) != 3 {
		t.Fatalf("created poll %+v: want a secret draft motion on item 1 with agree/disagree/abstain", poll)
	}
	agree, disagree := poll.Choices[0].ID, poll.Choices[1].ID
	pollBase := "/api/v1/polls/" + poll.ID

	// A member cannot open it.
	if r := member.call(http.MethodPost, pollBase+":open", map[string]any{"expectedVersion": poll.Version}, nil); r.code != http.StatusForbidden {
		t.Errorf("a member opens the poll: %d %s; want 403", r.code, r.body)
	}
	var opened pollResponse
	must(t, "open", chair.call(http.MethodPost, pollBase+":open", map[string]any{"expectedVersion": poll.Version}, &opened), http.StatusOK)
	if opened.Poll.State != "POLL_STATE_OPEN" || opened.Poll.Entitled != 5 || opened.Poll.BallotsCast != 0 {
		t.Fatalf("opened poll: state %s, %d entitled, %d cast; want open, 5, 0", opened.Poll.State, opened.Poll.Entitled, opened.Poll.BallotsCast)
	}

	// A choice not on the ballot, or two choices on a motion, is refused
	// naming the field, and uses up nobody's vote.
	for _, bad := range [][]string{{"khong-co"}, {agree, disagree}} {
		r := lan.call(http.MethodPost, pollBase+"/ballots", map[string]any{"choiceIds": bad, "idempotencyKey": uuid4(t)}, nil)
		must(t, fmt.Sprintf("ballot %v", bad), r, http.StatusBadRequest)
		if !strings.Contains(string(r.body), "choice_ids") {
			t.Errorf("ballot %v: problem %s does not name choice_ids", bad, r.body)
		}
	}

	// Everyone present votes; the member's ballot is kept to retry.
	type cast struct {
		who    string
		c      *authClient
		choice string
	}
	voters := []cast{{"chair", chair, agree}, {"member", member, agree}, {"Hương", huong, agree}, {"Huy", huy, agree}, {"Lan", lan, disagree}}
	receipts := map[string]string{}
	var memberKey string
	for _, v := range voters {
		key := uuid4(t)
		if v.who == "member" {
			memberKey = key
		}
		var b ballotResponse
		must(t, v.who+" votes", v.c.call(http.MethodPost, pollBase+"/ballots", map[string]any{
			"choiceIds": []string{v.choice}, "idempotencyKey": key,
		}, &b), http.StatusOK)
		if len(b.Receipt) < 16 {
			t.Fatalf("%s's receipt %q is too short to be unguessable", v.who, b.Receipt)
		}
		for other, r := range receipts {
			if r == b.Receipt {
				t.Fatalf("%s got the same receipt as %s", v.who, other)
			}
		}
		receipts[v.who] = b.Receipt
	}

	// A second, different ballot is refused; the same request again (a
	// tablet retrying after a dropped connection) gets the same receipt.
	r := member.call(http.MethodPost, pollBase+"/ballots", map[string]any{"choiceIds": []string{disagree}, "idempotencyKey": uuid4(t)}, nil)
	must(t, "a second vote", r, http.StatusConflict)
	problemDetail(t, r)
	var again ballotResponse
	must(t, "a retry with the same key", member.call(http.MethodPost, pollBase+"/ballots", map[string]any{
		"choiceIds": []string{agree}, "idempotencyKey": memberKey,
	}, &again), http.StatusOK)
	if again.Receipt != receipts["member"] {
		t.Errorf("retry with the same key: receipt %q, want the first one %q", again.Receipt, receipts["member"])
	}

	// Those who may not vote.
	must(t, "an outsider votes", outsider.call(http.MethodPost, pollBase+"/ballots", map[string]any{"choiceIds": []string{agree}, "idempotencyKey": uuid4(t)}, nil), http.StatusNotFound)
	must(t, "a participant who has not checked in votes", absent.call(http.MethodPost, pollBase+"/ballots", map[string]any{"choiceIds": []string{agree}, "idempotencyKey": uuid4(t)}, nil), http.StatusForbidden)
	must(t, "the observer votes", observer.call(http.MethodPost, pollBase+"/ballots", map[string]any{"choiceIds": []string{agree}, "idempotencyKey": uuid4(t)}, nil), http.StatusForbidden)

	// Progress: counts only, and the caller's own standing.
	var now pollResponse
	must(t, "get the poll", member.call(http.MethodGet, pollBase, nil, &now), http.StatusOK)
	if now.Poll.BallotsCast != 5 || now.Poll.Entitled != 5 {
		t.Errorf("progress %d/%d, want 5/5", now.Poll.BallotsCast, now.Poll.Entitled)
	}
	if now.Poll.MyStatus == nil || !now.Poll.MyStatus.Voted || !now.Poll.MyStatus.Entitled {
		t.Errorf("member's status %+v, want entitled and voted", now.Poll.MyStatus)
	}
	must(t, "the not-checked-in participant's view", absent.call(http.MethodGet, pollBase, nil, &now), http.StatusOK)
	if now.Poll.MyStatus == nil || now.Poll.MyStatus.Entitled || now.Poll.MyStatus.Reason == "" {
		t.Errorf("not checked in: status %+v, want not entitled with a reason", now.Poll.MyStatus)
	}

	// Closing: the chair sees the result; members do not, until published.
	var closed pollResponse
	must(t, "close", chair.call(http.MethodPost, pollBase+":close", map[string]any{"expectedVersion": opened.Poll.Version}, &closed), http.StatusOK)
	if closed.Poll.State != "POLL_STATE_CLOSED" {
		t.Fatalf("closed poll is %s", closed.Poll.State)
	}
	must(t, "close twice", chair.call(http.MethodPost, pollBase+":close", map[string]any{}, nil), http.StatusConflict)
	must(t, "vote after closing", absent.call(http.MethodPost, pollBase+"/ballots", map[string]any{"choiceIds": []string{agree}, "idempotencyKey": uuid4(t)}, nil), http.StatusConflict)
	if r := member.call(http.MethodGet, pollBase+"/result", nil, nil); r.code == http.StatusOK {
		t.Errorf("a member read the result before it was published: %s", r.body)
	}
	var published pollResponse
	must(t, "publish", chair.call(http.MethodPost, pollBase+":publish", map[string]any{"expectedVersion": closed.Poll.Version}, &published), http.StatusOK)
	if published.Poll.State != "POLL_STATE_PUBLISHED" {
		t.Fatalf("published poll is %s", published.Poll.State)
	}

	// The result, as any member reads it: four of the seven members of the
	// standing committee agree — more than half of all members (the Party
	// Charter's default for a resolution), with a quorum of five present.
	var res struct {
		Result resultBody `json:"result"`
	}
	must(t, "get the result", member.call(http.MethodGet, pollBase+"/result", nil, &res), http.StatusOK)
	counts := map[string]int{}
	for _, c := range res.Result.Counts {
		counts[c.ChoiceID] = c.Count
	}
	if res.Result.Outcome != "OUTCOME_PASSED" || res.Result.BallotsCast != 5 || counts[agree] != 4 || counts[disagree] != 1 || res.Result.Rule == "" || res.Result.Summary == "" {
		t.Errorf("result %+v; want passed, 5 cast, 4 agree, 1 disagree, with the rule and a summary", res.Result)
	}
	if len(res.Result.NamedVotes) != 0 {
		t.Errorf("a secret poll's result names voters: %+v", res.Result.NamedVotes)
	}

	// Every voter finds their receipt among the counted ballots, which
	// recount to the result.
	var list struct {
		Ballots []struct {
			ReceiptHash string   `json:"receiptHash"`
			ChoiceIDs   []string `json:"choiceIds"`
			Valid       bool     `json:"valid"`
		} `json:"ballots"`
	}
	must(t, "list counted ballots", member.call(http.MethodGet, pollBase+"/ballots", nil, &list), http.StatusOK)
	if len(list.Ballots) != 5 {
		t.Fatalf("%d counted ballots, want 5", len(list.Ballots))
	}
	hashes := map[string]bool{}
	recount := map[string]int{}
	for _, b := range list.Ballots {
		hashes[b.ReceiptHash] = true
		for _, c := range b.ChoiceIDs {
			recount[c]++
		}
	}
	for who, receipt := range receipts {
		sum := sha256.Sum256([]byte(receipt))
		if !hashes[hex.EncodeToString(sum[:])] {
			t.Errorf("%s's receipt is not among the counted ballots", who)
		}
	}
	if recount[agree] != 4 || recount[disagree] != 1 {
		t.Errorf("the counted ballots recount to %v, want 4 agree and 1 disagree", recount)
	}

	// The meetings service writes the published result into the minutes of
	// the agenda item (asynchronously, from the PollPublished event).
	deadline := time.Now().Add(30 * time.Second)
	for {
		var mins struct {
			Minutes struct {
				Items []struct {
					AgendaItemID string `json:"agendaItemId"`
					Votes        []struct {
						PollID  string `json:"pollId"`
						Title   string `json:"title"`
						Summary string `json:"summary"`
					} `json:"votes"`
				} `json:"items"`
			} `json:"minutes"`
		}
		must(t, "get the minutes", member.call(http.MethodGet, base+"/minutes", nil, &mins), http.StatusOK)
		found := false
		for _, it := range mins.Minutes.Items {
			for _, v := range it.Votes {
				if v.PollID == poll.ID {
					if it.AgendaItemID != item || v.Title != poll.Title || v.Summary == "" {
						t.Fatalf("minutes record the vote as %+v under item %s; want %q with a summary under %s", v, it.AgendaItemID, poll.Title, item)
					}
					found = true
				}
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the published result never reached the minutes: %+v", mins.Minutes.Items)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
