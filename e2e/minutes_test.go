package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fullMeeting is GET /api/v1/meetings/{id} as the minutes flow needs it.
type fullMeeting struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Version int64  `json:"version,string"`
	Agenda  []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"agenda"`
}

// minutesBody is the JSON of a Minutes message.
type minutesBody struct {
	Minutes struct {
		State   string `json:"state"`
		Version int64  `json:"version,string"`
		Items   []struct {
			AgendaItemID string `json:"agendaItemId"`
			Discussion   string `json:"discussion"`
			Conclusions  string `json:"conclusions"`
		} `json:"items"`
		ContentHash string `json:"contentHash"`
	} `json:"minutes"`
}

type taskBody struct {
	Task struct {
		ID                 string `json:"id"`
		Title              string `json:"title"`
		AssigneePersonID   string `json:"assigneePersonId"`
		AssigneePersonName string `json:"assigneePersonName"`
		Status             string `json:"status"`
		Version            int64  `json:"version,string"`
	} `json:"task"`
}

// call sends a JSON request (nil body: none) and decodes a 200 answer into
// out; it returns the whole response for status and problem checks.
func (c *authClient) call(method, path string, body, out any) authResponse {
	c.t.Helper()
	var b []byte
	ct := ""
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			c.t.Fatal(err)
		}
		ct = "application/json"
	}
	r := c.send(method, path, ct, "", b)
	if r.code == http.StatusOK && out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, r.body)
		}
	}
	return r
}

// must fails the test unless r answered want.
func must(t *testing.T, what string, r authResponse, want int) {
	t.Helper()
	if r.code != want {
		t.Fatalf("%s: %d %s; want %d", what, r.code, r.body, want)
	}
}

// problemDetail returns the detail of a problem+json answer.
func problemDetail(t *testing.T, r authResponse) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("error answer's Content-Type %q", ct)
	}
	var p struct {
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem details %s: %v", r.body, err)
	}
	return p.Detail
}

// The whole life of the minutes of the demo meeting, through REST as the
// demo users: written while the meeting runs (a stale save refused),
// submitted, refused to a member, approved by the chair (which closes the
// meeting and locks them), downloaded as a PDF, a conclusion turned into a
// task the member works on, and the audit trail intact at the end.
func TestMinutesFromMeetingToTasks(t *testing.T) {
	p, logins := startWithDemo(t)
	taker, chair, member, admin := newAuthClient(t, p), newAuthClient(t, p), newAuthClient(t, p), newAuthClient(t, p)
	taker.login(logins["minute-taker"])
	chair.login(logins["chair"])
	memberID := member.login(logins["member"]).Principal.PersonID
	admin.login(logins["system admin"])

	id := taker.todaysDemoMeeting().ID
	base := "/api/v1/meetings/" + id
	var got struct {
		Meeting fullMeeting `json:"meeting"`
	}
	must(t, "get the demo meeting", taker.call(http.MethodGet, base, nil, &got), http.StatusOK)
	m := got.Meeting
	if len(m.Agenda) < 2 {
		t.Fatalf("demo meeting has %d agenda items", len(m.Agenda))
	}
	item1, item2 := m.Agenda[0].ID, m.Agenda[1].ID

	// The minute-taker opens the meeting and writes while it runs.
	must(t, "start", taker.call(http.MethodPost, base+":start", map[string]any{}, nil), http.StatusOK)
	var mins minutesBody
	must(t, "save item 1", taker.call(http.MethodPut, base+"/minutes/items/"+item1, map[string]any{
		"expectedVersion": "0",
		"discussion":      "Đồng chí Bí thư báo cáo tình hình thực hiện nhiệm vụ quý IV; các đồng chí thảo luận.",
		"opinions":        "Đồng chí Phó Bí thư đề nghị bổ sung số liệu về kết nạp đảng viên mới.",
		"conclusions":     "Hoàn thiện báo cáo tổng kết năm, trình Ban Chấp hành trước ngày 20/12.",
	}, &mins), http.StatusOK)
	afterItem1 := mins.Minutes.Version
	must(t, "save item 2", taker.call(http.MethodPut, base+"/minutes/items/"+item2, map[string]any{
		"expectedVersion": afterItem1,
		"discussion":      "Thảo luận phương hướng nhiệm vụ năm tới.",
		"conclusions":     "Thống nhất phương hướng; giao Văn phòng hoàn thiện dự thảo.",
	}, &mins), http.StatusOK)
	current := mins.Minutes.Version
	if current <= afterItem1 || len(mins.Minutes.Items) < 2 {
		t.Fatalf("after two saves: version %d (was %d), %d items", current, afterItem1, len(mins.Minutes.Items))
	}

	// A second editor working from the version before item 2 was saved is
	// refused, told the current version, and nothing is lost.
	r := admin.call(http.MethodPut, base+"/minutes/items/"+item1, map[string]any{
		"expectedVersion": afterItem1, "discussion": "Bản cũ ghi đè",
	}, nil)
	must(t, "stale save", r, http.StatusConflict)
	if d := problemDetail(t, r); !strings.Contains(d, "current version is "+strconv.FormatInt(current, 10)) {
		t.Errorf("stale save's detail %q does not give the current version %d", d, current)
	}
	var now minutesBody
	must(t, "get minutes", taker.call(http.MethodGet, base+"/minutes", nil, &now), http.StatusOK)
	if now.Minutes.Version != current || !strings.HasPrefix(now.Minutes.Items[0].Discussion, "Đồng chí Bí thư") {
		t.Fatalf("after the refused save: version %d, item 1 %q", now.Minutes.Version, now.Minutes.Items[0].Discussion)
	}

	// The meeting ends; the minute-taker submits.
	must(t, "end", taker.call(http.MethodPost, base+":end", map[string]any{}, nil), http.StatusOK)
	must(t, "submit", taker.call(http.MethodPost, base+"/minutes:submit", map[string]any{"expectedVersion": current}, &mins), http.StatusOK)
	if mins.Minutes.State != "MINUTES_STATE_SUBMITTED" {
		t.Fatalf("minutes %s after submit", mins.Minutes.State)
	}
	submitted := mins.Minutes.Version

	// Only the chair approves; approving closes the meeting.
	must(t, "member approves", member.call(http.MethodPost, base+"/minutes:approve", map[string]any{"expectedVersion": submitted}, nil), http.StatusForbidden)
	must(t, "chair approves", chair.call(http.MethodPost, base+"/minutes:approve", map[string]any{"expectedVersion": submitted}, &mins), http.StatusOK)
	if mins.Minutes.State != "MINUTES_STATE_APPROVED" || len(mins.Minutes.ContentHash) != 64 {
		t.Fatalf("minutes %s, content hash %q after approval", mins.Minutes.State, mins.Minutes.ContentHash)
	}
	must(t, "get the meeting", taker.call(http.MethodGet, base, nil, &got), http.StatusOK)
	if got.Meeting.State != "MEETING_STATE_CLOSED" {
		t.Fatalf("meeting %s after approval, want closed", got.Meeting.State)
	}
	r = taker.call(http.MethodPut, base+"/minutes/items/"+item1, map[string]any{
		"expectedVersion": mins.Minutes.Version, "discussion": "Sửa sau khi duyệt",
	}, nil)
	must(t, "edit approved minutes", r, http.StatusConflict)

	// The PDF downloads.
	r = chair.send(http.MethodGet, base+"/minutes.pdf", "", "", nil)
	must(t, "minutes.pdf", r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("minutes.pdf Content-Type %q", ct)
	}
	if !bytes.HasPrefix(r.body, []byte("%PDF")) {
		t.Errorf("minutes.pdf starts %q", r.body[:min(len(r.body), 16)])
	}
	if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "filename*=UTF-8''") || !strings.Contains(cd, ".pdf") {
		t.Errorf("minutes.pdf Content-Disposition %q", cd)
	}
	if cc := r.header.Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("minutes.pdf Cache-Control %q", cc)
	}
	r = chair.send(http.MethodGet, "/api/v1/meetings/"+strings.Repeat("0", 8)+"-0000-4000-8000-000000000000/minutes.pdf", "", "", nil)
	must(t, "minutes.pdf of no meeting", r, http.StatusNotFound)
	problemDetail(t, r)

	// A conclusion becomes the member's task.
	deadline := time.Now().Add(14 * 24 * time.Hour).In(time.FixedZone("ICT", 7*60*60)).Format(time.DateOnly)
	var task taskBody
	must(t, "create task", taker.call(http.MethodPost, "/api/v1/tasks", map[string]any{
		"meetingId": id, "agendaItemId": item1, "title": now.Minutes.Items[0].Conclusions,
		"assigneePersonId": memberID, "deadline": deadline,
	}, &task), http.StatusOK)
	if task.Task.AssigneePersonID != memberID || task.Task.AssigneePersonName == "" || task.Task.Status != "TASK_STATUS_OPEN" {
		t.Fatalf("task %+v", task.Task)
	}
	var mine struct {
		Tasks []struct {
			ID string `json:"id"`
		} `json:"tasks"`
	}
	must(t, "my tasks", member.call(http.MethodGet, "/api/v1/tasks?mine=true", nil, &mine), http.StatusOK)
	if len(mine.Tasks) != 1 || mine.Tasks[0].ID != task.Task.ID {
		t.Fatalf("member's tasks %+v, want the new one", mine.Tasks)
	}
	var updated taskBody
	must(t, "start the task", member.call(http.MethodPatch, "/api/v1/tasks/"+task.Task.ID, map[string]any{
		"expectedVersion": task.Task.Version, "status": "TASK_STATUS_IN_PROGRESS",
	}, &updated), http.StatusOK)
	if updated.Task.Status != "TASK_STATUS_IN_PROGRESS" {
		t.Errorf("task status %s after starting it", updated.Task.Status)
	}

	// The audit trail of the meeting (lifecycle, minutes) is intact.
	var verified struct {
		RecordsChecked int64  `json:"recordsChecked,string"`
		Intact         bool   `json:"intact"`
		Problem        string `json:"problem"`
	}
	must(t, "verify audit", taker.call(http.MethodGet, "/api/v1/audit:verify?meeting_id="+id, nil, &verified), http.StatusOK)
	if !verified.Intact || verified.RecordsChecked < 10 {
		t.Errorf("audit verify = %+v; want intact with every change of the meeting", verified)
	}
}
