package documents

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/blob"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/pg"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// The people of the tests: a cell (org-a) meeting with its chair, its
// minute-taker, a member who takes part, an observer from the higher
// committee; a member of org-a who does not take part, an administrator of
// org-a who does not either, and a member of another cell.
var (
	chair     = person("chu-tri", "org-a")
	secretary = person("thu-ky", "org-a")
	attendee  = person("dang-vien-1", "org-a")
	observer  = person("quan-sat", "org-cap-tren")
	bystander = person("dang-vien-2", "org-a")
	adminA    = orgAdmin("org-a")
	otherCell = person("dang-vien-b", "org-b")
)

// cellMeeting sets up the meeting above with one agenda item.
func (w *world) cellMeeting() (meetingID, agendaItem string) {
	agendaItem = uuid.NewString()
	meetingID = w.meetings.add("org-a", map[string]meetingsv1.ParticipantRole{
		chair.Subject:     meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR,
		secretary.Subject: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER,
		attendee.Subject:  meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MEMBER,
		observer.Subject:  meetingsv1.ParticipantRole_PARTICIPANT_ROLE_OBSERVER,
	}, agendaItem)
	return meetingID, agendaItem
}

func hexSHA(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestUploadStoresDocumentVersionAndObject(t *testing.T) {
	w := newWorld(t)
	meeting, item := w.cellMeeting()
	pdf := testenv.PDF(3, 200<<10)
	nd := paper(meeting, "  Báo cáo chính trị\u0020", "Báo cáo chính trị.pdf")
	nd.AgendaItemId = item
	nd.DeclaredSize = int64(len(pdf))
	d := w.upload(t, secretary, nd, pdf)

	want := &documentsv1.Document{
		Id:             d.GetId(),
		OrganizationId: "org-a", // the meeting's, not the client's say
		MeetingId:      meeting,
		AgendaItemId:   item,
		Title:          "Báo cáo chính trị",
		Kind:           documentsv1.DocumentKind_DOCUMENT_KIND_AGENDA_PAPER,
		Classification: documentsv1.Classification_CLASSIFICATION_INTERNAL,
		FileName:       "Báo cáo chính trị.pdf",
		ContentType:    "application/pdf",
		SizeBytes:      int64(len(pdf)),
		Sha256:         hexSHA(pdf),
		Version:        1,
		PageCount:      3,
		Preview:        documentsv1.Preview_PREVIEW_AVAILABLE,
		UploaderId:     secretary.Subject,
		DownloadPolicy: documentsv1.DownloadPolicy_DOWNLOAD_POLICY_ALLOWED,
		CreateTime:     d.GetCreateTime(),
		UpdateTime:     d.GetUpdateTime(),
	}
	if diff := cmp.Diff(want, d, protocmp.Transform()); diff != "" {
		t.Errorf("uploaded document (-want +got):\n%s", diff)
	}
	got, err := w.client.GetDocument(testenv.As(attendee), &documentsv1.GetDocumentRequest{DocumentId: d.GetId()})
	if err != nil {
		t.Fatalf("GetDocument: %v", err)
	}
	if diff := cmp.Diff(d, got.GetDocument(), protocmp.Transform()); diff != "" {
		t.Errorf("GetDocument (-uploaded +got):\n%s", diff)
	}

	var key string
	if err := w.pool.QueryRow(context.Background(), `SELECT object_key FROM document_versions WHERE document_id = $1 AND version = 1`, d.GetId()).Scan(&key); err != nil {
		t.Fatalf("version row: %v", err)
	}
	if stored := w.objectBytes(t, key); hexSHA(stored) != hexSHA(pdf) {
		t.Errorf("object %s holds %d bytes that differ from the upload", key, len(stored))
	}
	w.nothingLeft(t, 1)
}

func TestUploadPublishesAddedEvent(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	d := w.upload(t, adminA, paper(meeting, "Báo cáo tháng 12", "bc.pdf"), testenv.PDF(1, 0))

	msg := testenv.Next(t, testenv.Consumer(t, w.js, w.stream))
	if want := w.prefix + "ecabinet.documents.v1." + meeting + ".added"; msg.Subject() != want {
		t.Errorf("subject = %q, want %q", msg.Subject(), want)
	}
	var ev documentsv1.DocumentAdded
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
		t.Fatalf("payload: %v", err)
	}
	if diff := cmp.Diff(d, ev.GetDocument(), protocmp.Transform()); diff != "" {
		t.Errorf("event document (-stored +event):\n%s", diff)
	}
	meta := ev.GetMeta()
	wantAudience := []string{chair.Subject, attendee.Subject, observer.Subject, secretary.Subject}
	slices.Sort(wantAudience)
	if meta.GetActorId() != adminA.Subject || meta.GetAggregateId() != d.GetId() ||
		meta.GetAggregateVersion() != 1 || meta.GetOrganizationId() != "org-a" ||
		meta.GetOccurredAt() == nil || meta.GetEventId() == "" || !slices.Equal(meta.GetAudience(), wantAudience) {
		t.Errorf("meta = %v, want actor %s, aggregate %s v1, org org-a, audience %v", meta, adminA.Subject, d.GetId(), wantAudience)
	}
	h := msg.Headers()
	for key, want := range map[string]string{
		"Nats-Msg-Id":       meta.GetEventId(),
		"Ecabinet-Type":     "ecabinet.documents.v1.DocumentAdded",
		"Ecabinet-Org":      "org-a",
		"Ecabinet-Audience": strings.Join(wantAudience, ","),
	} {
		if got := h.Get(key); got != want {
			t.Errorf("header %s = %q, want %q", key, got, want)
		}
	}
}

// Organisation members who do not take part receive a confidential
// paper's events too, so the events say nothing about its content.
func TestConfidentialEventsCarryNoContent(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	nd := paper(meeting, "Nhân sự bí mật", "nhan-su.pdf")
	nd.Classification = documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL
	d := w.upload(t, secretary, nd, testenv.PDF(1, 0))
	if _, err := w.sendUpload(testenv.As(secretary), newVersion(&documentsv1.NewVersion{DocumentId: d.GetId(), FileName: "nhan-su-2.pdf"}), testenv.PDF(2, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.client.WithdrawDocument(testenv.As(secretary), &documentsv1.WithdrawDocumentRequest{DocumentId: d.GetId(), Reason: "Nhân sự đã thay đổi"}); err != nil {
		t.Fatal(err)
	}
	c := testenv.Consumer(t, w.js, w.stream)
	for _, want := range []proto.Message{&documentsv1.DocumentAdded{}, &documentsv1.DocumentVersionAdded{}, &documentsv1.DocumentWithdrawn{}} {
		msg := testenv.Next(t, c)
		if err := proto.Unmarshal(msg.Data(), want); err != nil {
			t.Fatal(err)
		}
		text := fmt.Sprint(want)
		for _, secret := range []string{"Nhân sự", "nhan-su", d.GetSha256()} {
			if strings.Contains(text, secret) {
				t.Errorf("%s event carries %q: %s", msg.Headers().Get("Ecabinet-Type"), secret, text)
			}
		}
	}
}

func TestListAndGetFollowClassification(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	docs := map[documentsv1.Classification]*documentsv1.Document{}
	for _, cl := range []documentsv1.Classification{
		documentsv1.Classification_CLASSIFICATION_PUBLIC,
		documentsv1.Classification_CLASSIFICATION_INTERNAL,
		documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL,
	} {
		nd := paper(meeting, "Tài liệu "+cl.String(), "tl.pdf")
		nd.Classification = cl
		docs[cl] = w.upload(t, secretary, nd, testenv.PDF(1, 0))
	}
	pub, internal, conf := docs[documentsv1.Classification_CLASSIFICATION_PUBLIC], docs[documentsv1.Classification_CLASSIFICATION_INTERNAL], docs[documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL]

	for _, tc := range []struct {
		who  identity.Claims
		want []*documentsv1.Document
	}{
		{chair, []*documentsv1.Document{pub, internal, conf}},
		{attendee, []*documentsv1.Document{pub, internal, conf}},
		// A participant from another organisation reads the meeting's
		// internal and confidential papers.
		{observer, []*documentsv1.Document{pub, internal, conf}},
		// Members and admins of the organisation who do not take part:
		// not the confidential one.
		{bystander, []*documentsv1.Document{pub, internal}},
		{adminA, []*documentsv1.Document{pub, internal}},
		{systemAdmin(), []*documentsv1.Document{pub, internal}},
		// A member of another cell: the public paper only.
		{otherCell, []*documentsv1.Document{pub}},
	} {
		list, err := w.client.ListDocuments(testenv.As(tc.who), &documentsv1.ListDocumentsRequest{MeetingId: meeting})
		if err != nil {
			t.Fatalf("ListDocuments as %s: %v", tc.who.Subject, err)
		}
		if diff := cmp.Diff(tc.want, list.GetDocuments(), protocmp.Transform()); diff != "" {
			t.Errorf("ListDocuments as %s (-want +got):\n%s", tc.who.Subject, diff)
		}
		for _, d := range []*documentsv1.Document{pub, internal, conf} {
			_, err := w.client.GetDocument(testenv.As(tc.who), &documentsv1.GetDocumentRequest{DocumentId: d.GetId()})
			visible := slices.ContainsFunc(tc.want, func(x *documentsv1.Document) bool { return x.GetId() == d.GetId() })
			if visible && err != nil {
				t.Errorf("GetDocument(%s) as %s: %v", d.GetTitle(), tc.who.Subject, err)
			}
			if !visible {
				st := testenv.Code(t, err, codes.NotFound)
				if strings.Contains(st.Message(), "org-a") || strings.Contains(st.Message(), d.GetTitle()) {
					t.Errorf("NotFound message %q leaks the document", st.Message())
				}
			}
		}
	}

	// Taking someone off the meeting ends their access at once.
	w.meetings.removeParticipant(meeting, attendee.Subject)
	_, err := w.client.GetDocument(testenv.As(attendee), &documentsv1.GetDocumentRequest{DocumentId: conf.GetId()})
	testenv.Code(t, err, codes.NotFound)
	_, err = w.client.GetDocument(testenv.As(attendee), &documentsv1.GetDocumentRequest{DocumentId: internal.GetId()})
	if err != nil {
		t.Errorf("a member of the organisation lost the internal paper with their participation: %v", err)
	}
}

// Whether a confidential paper may be read is the meetings service's to
// say; when it cannot answer, the answer is "try again", not "not found".
func TestMeetingsServiceDown(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	nd := paper(meeting, "Mật", "mat.pdf")
	nd.Classification = documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL
	conf := w.upload(t, secretary, nd, testenv.PDF(1, 0))
	internal := w.upload(t, secretary, paper(meeting, "Nội bộ", "nb.pdf"), testenv.PDF(1, 0))

	w.meetings.setDown(true)
	_, err := w.client.GetDocument(testenv.As(attendee), &documentsv1.GetDocumentRequest{DocumentId: conf.GetId()})
	testenv.Code(t, err, codes.Unavailable)
	_, err = w.sendUpload(testenv.As(secretary), newDocument(paper(meeting, "Mới", "moi.pdf")), testenv.PDF(1, 0))
	testenv.Code(t, err, codes.Unavailable)
	// Membership decides internal papers without asking.
	if _, err := w.client.GetDocument(testenv.As(bystander), &documentsv1.GetDocumentRequest{DocumentId: internal.GetId()}); err != nil {
		t.Errorf("internal paper while the meetings service is down: %v", err)
	}
	w.meetings.setDown(false)
	if _, err := w.client.GetDocument(testenv.As(attendee), &documentsv1.GetDocumentRequest{DocumentId: conf.GetId()}); err != nil {
		t.Errorf("after the meetings service is back: %v", err)
	}
	w.nothingLeft(t, 2)
}

func TestValidation(t *testing.T) {
	w := newWorld(t)
	for _, id := range []string{"", "doc-1"} {
		_, err := w.client.GetDocument(testenv.As(member("org-a")), &documentsv1.GetDocumentRequest{DocumentId: id})
		if diff := cmp.Diff([]string{"document_id"}, testenv.ViolatedFields(t, err)); diff != "" {
			t.Errorf("GetDocument(%q) (-want +got):\n%s", id, diff)
		}
		_, err = w.client.ListDocuments(testenv.As(member("org-a")), &documentsv1.ListDocumentsRequest{MeetingId: id})
		if diff := cmp.Diff([]string{"meeting_id"}, testenv.ViolatedFields(t, err)); diff != "" {
			t.Errorf("ListDocuments(%q) (-want +got):\n%s", id, diff)
		}
		_, err = w.client.ListDocumentVersions(testenv.As(member("org-a")), &documentsv1.ListDocumentVersionsRequest{DocumentId: id})
		if diff := cmp.Diff([]string{"document_id"}, testenv.ViolatedFields(t, err)); diff != "" {
			t.Errorf("ListDocumentVersions(%q) (-want +got):\n%s", id, diff)
		}
	}
	_, err := w.client.OpenDocumentContent(testenv.As(member("org-a")), &documentsv1.OpenDocumentContentRequest{DocumentId: uuid.NewString(), Version: -1})
	if diff := cmp.Diff([]string{"access", "version"}, slices.Sorted(slices.Values(testenv.ViolatedFields(t, err)))); diff != "" {
		t.Errorf("OpenDocumentContent (-want +got):\n%s", diff)
	}
	_, err = w.client.GetDocument(testenv.As(member("org-a")), &documentsv1.GetDocumentRequest{DocumentId: uuid.NewString()})
	testenv.Code(t, err, codes.NotFound)
}

func TestUnauthenticated(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background() // no claims: the client sends no token
	_, err := w.client.GetDocument(ctx, &documentsv1.GetDocumentRequest{DocumentId: uuid.NewString()})
	testenv.Code(t, err, codes.Unauthenticated)
	_, err = w.client.ListDocuments(ctx, &documentsv1.ListDocumentsRequest{MeetingId: uuid.NewString()})
	testenv.Code(t, err, codes.Unauthenticated)
	_, err = w.sendUpload(ctx, newDocument(paper(uuid.NewString(), "x", "x.pdf")), testenv.PDF(1, 0))
	testenv.Code(t, err, codes.Unauthenticated)

	a := &api{s: w.svc}
	_, err = a.GetDocument(ctx, &documentsv1.GetDocumentRequest{DocumentId: uuid.NewString()})
	testenv.Code(t, err, codes.Unauthenticated)
	_, err = a.OpenDocumentContent(ctx, &documentsv1.OpenDocumentContentRequest{DocumentId: uuid.NewString()})
	testenv.Code(t, err, codes.Unauthenticated)
}

// Run creates a missing bucket.
func TestRunEnsuresBucket(t *testing.T) {
	testenv.Blob(t) // fails clearly when no object store is configured
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatal(err)
	}
	store, err := blob.Open(blob.Config{
		Endpoint:  os.Getenv("S3_ENDPOINT"),
		AccessKey: os.Getenv("S3_ACCESS_KEY"),
		SecretKey: os.Getenv("S3_SECRET_KEY"),
		UseTLS:    os.Getenv("S3_USE_TLS") == "true",
		Bucket:    "ecabinet-t-" + hex.EncodeToString(suffix),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := store.Client().RemoveBucket(context.Background(), store.Bucket()); err != nil {
			t.Errorf("remove bucket %s: %v", store.Bucket(), err)
		}
	})
	if ok, err := store.Client().BucketExists(context.Background(), store.Bucket()); err != nil || ok {
		t.Fatalf("bucket %s before Run: exists=%v, err=%v; want a missing bucket", store.Bucket(), ok, err)
	}
	w := newWorldWith(t, worldOptions{store: store})
	testenv.Eventually(t, waitLimit, func() error {
		ok, err := w.blob.Client().BucketExists(context.Background(), w.blob.Bucket())
		if err == nil && !ok {
			err = fmt.Errorf("bucket %s does not exist yet", w.blob.Bucket())
		}
		return err
	})
}

// Reading metadata does not need object storage: with the store down the
// service still answers, and its minio probe says why it is not ready.
func TestServesWhileObjectStorageIsDown(t *testing.T) {
	direct := testenv.Blob(t)
	proxy := newFaultProxy(t, os.Getenv("S3_ENDPOINT"))
	w := newWorldWith(t, worldOptions{store: storeBehind(t, direct, proxy.addr), inspect: direct})
	meeting, _ := w.cellMeeting()
	d := w.upload(t, secretary, paper(meeting, "Báo cáo", "bc.pdf"), testenv.PDF(1, 0))

	proxy.Block()
	if _, err := w.client.GetDocument(testenv.As(attendee), &documentsv1.GetDocumentRequest{DocumentId: d.GetId()}); err != nil {
		t.Fatalf("GetDocument with object storage down: %v", err)
	}
	if _, err := w.client.ListDocumentVersions(testenv.As(attendee), &documentsv1.ListDocumentVersionsRequest{DocumentId: d.GetId()}); err != nil {
		t.Fatalf("ListDocumentVersions with object storage down: %v", err)
	}
	for _, p := range w.svc.Probes() {
		err := p.Check(context.Background())
		if p.Name == "minio" {
			if err == nil || !strings.Contains(err.Error(), proxy.addr) {
				t.Errorf("minio probe = %v, want an error naming %s", err, proxy.addr)
			}
		} else if err != nil {
			t.Errorf("probe %s: %v", p.Name, err)
		}
	}
}

// Until Run has migrated the schema, RPCs answer Unavailable rather than
// failing on missing tables.
func TestUnavailableBeforeMigrations(t *testing.T) {
	schema := testenv.Schema(t, Name) // nobody migrates it: Run is not called
	pool, err := pg.Connect(testenv.DatabaseURL(t), schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	nc, js := testenv.JetStream(t)
	a := &api{s: New(Deps{Pool: pool, Schema: schema, JS: js, NC: nc})}
	ctx := testenv.As(orgAdmin("org-a"))
	_, err = a.GetDocument(ctx, &documentsv1.GetDocumentRequest{DocumentId: uuid.NewString()})
	st := testenv.Code(t, err, codes.Unavailable)
	if !strings.Contains(st.Message(), "migrations") {
		t.Errorf("message %q does not say why", st.Message())
	}
	_, err = a.ListDocuments(ctx, &documentsv1.ListDocumentsRequest{MeetingId: uuid.NewString()})
	testenv.Code(t, err, codes.Unavailable)
	_, err = a.OpenDocumentContent(ctx, &documentsv1.OpenDocumentContentRequest{DocumentId: uuid.NewString()})
	testenv.Code(t, err, codes.Unavailable)
	// Nor does the service call itself ready.
	if err := a.s.Probes()[0].Check(context.Background()); err == nil {
		t.Error("schema probe passes before migrations")
	}
}

func TestProbes(t *testing.T) {
	w := newWorld(t)
	var names []string
	for _, p := range w.svc.Probes() {
		names = append(names, p.Name)
		if err := p.Check(context.Background()); err != nil {
			t.Errorf("probe %s: %v", p.Name, err)
		}
	}
	if diff := cmp.Diff([]string{Name + ".schema", "postgres", "nats", "minio"}, names); diff != "" {
		t.Errorf("probes (-want +got):\n%s", diff)
	}
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}
