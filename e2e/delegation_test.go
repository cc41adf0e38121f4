package e2e

import (
	"net/http"
	"testing"

	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// Vote delegation through the gateway (ADR 0005): refused while the
// organisation has it off; its administrator turns it on
// (PATCH /api/v1/organizations/{id}); the member records their own
// delegate before being absent (the minute-taker may not appoint one for
// them); the delegate present casts the member's ballot in a poll that
// allows it, once; another member may not.
func TestVoteDelegationThroughTheGateway(t *testing.T) {
	p, logins := startWithDemo(t)
	chair, taker, member := newAuthClient(t, p), newAuthClient(t, p), newAuthClient(t, p)
	chairID := chair.login(logins["chair"]).Principal.PersonID
	taker.login(logins["minute-taker"])
	memberID := member.login(logins["member"]).Principal.PersonID

	m := taker.startTodaysMeeting()
	base := "/api/v1/meetings/" + m.ID
	byName := map[string]string{}
	for _, pt := range m.Participants {
		byName[pt.FullName] = pt.PersonID
	}
	absentID, proxyID := byName["Hà Đức Thịnh"], byName["Vũ Quang Huy"]
	if absentID == "" || proxyID == "" {
		t.Fatalf("demo participants missing: %+v", m.Participants)
	}
	bearer := func(c identity.Claims) *authClient {
		a := newAuthClient(t, p)
		a.bearer = p.Token(t, c)
		return a
	}
	proxy := bearer(identity.Claims{Subject: proxyID, Name: "Vũ Quang Huy", Orgs: []string{m.OrganizationID}})
	absent := bearer(identity.Claims{Subject: absentID, Name: "Hà Đức Thịnh", Orgs: []string{m.OrganizationID}})
	admin := bearer(identity.Claims{Subject: "e2e-admin", Name: "Quản trị", Orgs: []string{m.OrganizationID}, AdminOrgs: []string{m.OrganizationID}})
	setDelegate := base + "/participants/" + absentID + ":setDelegate"

	// Off by default.
	must(t, "record a delegate while off", absent.call(http.MethodPost, setDelegate, map[string]any{"delegatePersonId": proxyID}, nil), http.StatusConflict)

	// The administrator turns it on; a member may not.
	var org struct {
		Organization struct {
			Name                string `json:"name"`
			Version             int64  `json:"version,string"`
			AllowVoteDelegation bool   `json:"allowVoteDelegation"`
		} `json:"organization"`
	}
	orgPath := "/api/v1/organizations/" + m.OrganizationID
	must(t, "get the organisation", admin.call(http.MethodGet, orgPath, nil, &org), http.StatusOK)
	if org.Organization.AllowVoteDelegation {
		t.Fatal("the demo organisation allows delegation by default")
	}
	update := map[string]any{"name": org.Organization.Name, "expectedVersion": org.Organization.Version, "allowVoteDelegation": true}
	must(t, "a member turns delegation on", member.call(http.MethodPatch, orgPath, update, nil), http.StatusForbidden)
	must(t, "turn delegation on", admin.call(http.MethodPatch, orgPath, update, &org), http.StatusOK)
	if !org.Organization.AllowVoteDelegation {
		t.Fatalf("after PATCH: %+v", org.Organization)
	}
	must(t, "the same version again", admin.call(http.MethodPatch, orgPath, update, nil), http.StatusConflict)

	// The minute-taker may not appoint the absent member's delegate, not
	// even themself; the member records it; the meeting shows it.
	var after struct {
		Meeting struct {
			AllowVoteDelegation bool `json:"allowVoteDelegation"`
			Participants        []struct {
				PersonID         string `json:"personId"`
				DelegatePersonID string `json:"delegatePersonId"`
			} `json:"participants"`
		} `json:"meeting"`
	}
	must(t, "the minute-taker appoints a delegate", taker.call(http.MethodPost, setDelegate, map[string]any{"delegatePersonId": proxyID}, nil), http.StatusForbidden)
	must(t, "the chair appoints themself", chair.call(http.MethodPost, setDelegate, map[string]any{"delegatePersonId": chairID}, nil), http.StatusForbidden)
	must(t, "record the delegate", absent.call(http.MethodPost, setDelegate, map[string]any{"delegatePersonId": proxyID}, &after), http.StatusOK)
	recorded := false
	for _, pt := range after.Meeting.Participants {
		recorded = recorded || (pt.PersonID == absentID && pt.DelegatePersonID == proxyID)
	}
	if !after.Meeting.AllowVoteDelegation || !recorded {
		t.Fatalf("meeting after SetDelegate: %+v", after.Meeting)
	}

	for _, pid := range []string{chairID, memberID, proxyID} {
		must(t, "mark "+pid+" present", taker.call(http.MethodPost, base+"/attendance", map[string]any{
			"personId": pid, "attendance": "ATTENDANCE_PRESENT"}, nil), http.StatusOK)
	}
	var created pollResponse
	must(t, "create a poll allowing delegation", chair.call(http.MethodPost, base+"/polls", map[string]any{
		"agendaItemId": m.Agenda[0].ID, "title": "Thông qua Nghị quyết", "kind": "POLL_KIND_MOTION",
		"secret": true, "allowDelegation": true,
	}, &created), http.StatusOK)
	pollBase := "/api/v1/polls/" + created.Poll.ID
	must(t, "open", chair.call(http.MethodPost, pollBase+":open", map[string]any{}, nil), http.StatusOK)
	agree := created.Poll.Choices[0].ID

	ballot := func() map[string]any {
		return map[string]any{"choiceIds": []string{agree}, "idempotencyKey": uuid4(t), "onBehalfOfPersonId": absentID}
	}
	must(t, "another member casts the absent member's ballot", member.call(http.MethodPost, pollBase+"/ballots", ballot(), nil), http.StatusForbidden)
	var b ballotResponse
	must(t, "the delegate casts it", proxy.call(http.MethodPost, pollBase+"/ballots", ballot(), &b), http.StatusOK)
	if b.Receipt == "" || b.Poll.BallotsCast != 1 {
		t.Errorf("delegated ballot: receipt %q, %d cast", b.Receipt, b.Poll.BallotsCast)
	}
	must(t, "the delegate casts it again", proxy.call(http.MethodPost, pollBase+"/ballots", ballot(), nil), http.StatusConflict)
	must(t, "the delegate's own vote", proxy.call(http.MethodPost, pollBase+"/ballots", map[string]any{
		"choiceIds": []string{agree}, "idempotencyKey": uuid4(t)}, nil), http.StatusOK)
	var now pollResponse
	must(t, "get the poll", chair.call(http.MethodGet, pollBase, nil, &now), http.StatusOK)
	if now.Poll.BallotsCast != 2 {
		t.Errorf("ballots cast %d, want 2 (the member's by delegation and the delegate's own)", now.Poll.BallotsCast)
	}
}
