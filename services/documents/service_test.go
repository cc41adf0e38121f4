package documents

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/blob"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/pg"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

func paper(meetingID, org, title string) *documentsv1.Document {
	sum := sha256.Sum256([]byte(title))
	return &documentsv1.Document{
		OrganizationId: org,
		MeetingId:      meetingID,
		Title:          title,
		Kind:           documentsv1.DocumentKind_DOCUMENT_KIND_AGENDA_PAPER,
		Classification: documentsv1.Classification_CLASSIFICATION_INTERNAL,
		FileName:       "bao-cao.pdf",
		ContentType:    "application/pdf",
		SizeBytes:      20 << 20,
		Sha256:         hex.EncodeToString(sum[:]),
	}
}

// add stores a document as the upload path will.
func (w *world) add(t *testing.T, d *documentsv1.Document) *documentsv1.Document {
	t.Helper()
	stored, err := w.svc.addDocument(context.Background(), "uploader", d)
	if err != nil {
		t.Fatalf("addDocument(%q): %v", d.GetTitle(), err)
	}
	return stored
}

func TestGetListDocuments(t *testing.T) {
	w := newWorld(t)
	meeting := uuid.NewString()
	in := paper(meeting, "org-a", "Báo cáo chính trị")
	first := w.add(t, in)
	if _, err := uuid.Parse(first.GetId()); err != nil || first.GetCreateTime() == nil {
		t.Fatalf("stored document %v: want a UUID id and a create time", first)
	}
	want := proto.Clone(in).(*documentsv1.Document)
	want.Id, want.CreateTime = first.GetId(), first.GetCreateTime()
	if diff := cmp.Diff(want, first, protocmp.Transform()); diff != "" {
		t.Errorf("stored document (-want +got):\n%s", diff)
	}
	second := w.add(t, paper(meeting, "org-a", "Dự thảo nghị quyết"))
	w.add(t, paper(uuid.NewString(), "org-a", "Tài liệu cuộc họp khác"))

	got, err := w.client.GetDocument(as(member("org-a")), &documentsv1.GetDocumentRequest{DocumentId: first.GetId()})
	if err != nil {
		t.Fatalf("GetDocument: %v", err)
	}
	if diff := cmp.Diff(first, got.GetDocument(), protocmp.Transform()); diff != "" {
		t.Errorf("GetDocument (-stored +got):\n%s", diff)
	}
	list, err := w.client.ListDocuments(as(member("org-a")), &documentsv1.ListDocumentsRequest{MeetingId: meeting})
	if err != nil {
		t.Fatalf("ListDocuments: %v", err)
	}
	if diff := cmp.Diff([]*documentsv1.Document{first, second}, list.GetDocuments(), protocmp.Transform()); diff != "" {
		t.Errorf("ListDocuments (-want +got):\n%s", diff)
	}
	_, err = w.client.GetDocument(as(member("org-a")), &documentsv1.GetDocumentRequest{DocumentId: uuid.NewString()})
	wantCode(t, err, codes.NotFound)
}

func TestAddDocumentPublishesEvent(t *testing.T) {
	w := newWorld(t)
	meeting := uuid.NewString()
	d := w.add(t, paper(meeting, "org-a", "Báo cáo tháng 12"))

	msg := next(t, w.consumer(t))
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
	if meta.GetActorId() != "uploader" || meta.GetAggregateId() != d.GetId() ||
		meta.GetAggregateVersion() != 1 || meta.GetOrganizationId() != "org-a" ||
		meta.GetOccurredAt() == nil || meta.GetEventId() == "" {
		t.Errorf("meta = %v, want actor uploader, aggregate %s v1, org org-a, id and time set", meta, d.GetId())
	}
	h := msg.Headers()
	for key, want := range map[string]string{
		"Nats-Msg-Id":   meta.GetEventId(),
		"Ecabinet-Type": "ecabinet.documents.v1.DocumentAdded",
		"Ecabinet-Org":  "org-a",
	} {
		if got := h.Get(key); got != want {
			t.Errorf("header %s = %q, want %q", key, got, want)
		}
	}
}

// An add that fails in the database rolls back with its event: the stream
// holds the events of the successful adds only.
func TestFailedAddLeavesNoEvent(t *testing.T) {
	w := newWorld(t)
	meeting := uuid.NewString()
	first := w.add(t, paper(meeting, "org-a", "Một"))

	dup := paper(meeting, "org-a", "Trùng id")
	dup.Id = first.GetId()
	if _, err := w.svc.addDocument(context.Background(), "uploader", dup); err == nil {
		t.Fatal("adding a document with an existing id succeeded")
	}
	bad := paper(meeting, "org-a", "Tổng kiểm sai")
	bad.Sha256 = "not-hex"
	if _, err := w.svc.addDocument(context.Background(), "uploader", bad); err == nil {
		t.Fatal("adding a document with a malformed sha256 succeeded")
	}
	second := w.add(t, paper(meeting, "org-a", "Hai"))

	c := w.consumer(t)
	for _, want := range []string{first.GetId(), second.GetId()} {
		var ev documentsv1.DocumentAdded
		if err := proto.Unmarshal(next(t, c).Data(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.GetDocument().GetId() != want {
			t.Fatalf("event for document %s, want %s", ev.GetDocument().GetId(), want)
		}
	}
	if n := streamMsgs(t, w); n != 2 {
		t.Fatalf("stream holds %d messages, want 2", n)
	}
}

func TestValidation(t *testing.T) {
	w := newWorld(t)
	for _, id := range []string{"", "doc-1"} {
		_, err := w.client.GetDocument(as(member("org-a")), &documentsv1.GetDocumentRequest{DocumentId: id})
		if diff := cmp.Diff([]string{"document_id"}, violatedFields(t, err)); diff != "" {
			t.Errorf("GetDocument(%q) (-want +got):\n%s", id, diff)
		}
		_, err = w.client.ListDocuments(as(member("org-a")), &documentsv1.ListDocumentsRequest{MeetingId: id})
		if diff := cmp.Diff([]string{"meeting_id"}, violatedFields(t, err)); diff != "" {
			t.Errorf("ListDocuments(%q) (-want +got):\n%s", id, diff)
		}
	}
}

func TestUnauthenticated(t *testing.T) {
	w := newWorld(t)
	d := w.add(t, paper(uuid.NewString(), "org-a", "Báo cáo"))
	ctx := context.Background() // no claims: the client sends no token
	_, err := w.client.GetDocument(ctx, &documentsv1.GetDocumentRequest{DocumentId: d.GetId()})
	wantCode(t, err, codes.Unauthenticated)
	_, err = w.client.ListDocuments(ctx, &documentsv1.ListDocumentsRequest{MeetingId: d.GetMeetingId()})
	wantCode(t, err, codes.Unauthenticated)

	a := &api{s: w.svc}
	_, err = a.GetDocument(ctx, &documentsv1.GetDocumentRequest{DocumentId: d.GetId()})
	wantCode(t, err, codes.Unauthenticated)
	_, err = a.ListDocuments(ctx, &documentsv1.ListDocumentsRequest{MeetingId: d.GetMeetingId()})
	wantCode(t, err, codes.Unauthenticated)
}

func TestOtherOrganisationSeesNothing(t *testing.T) {
	w := newWorld(t)
	meeting := uuid.NewString()
	d := w.add(t, paper(meeting, "org-a", "Báo cáo"))
	for _, c := range []identity.Claims{member("org-b"), orgAdmin("org-b"), {Subject: "nobody"}} {
		_, err := w.client.GetDocument(as(c), &documentsv1.GetDocumentRequest{DocumentId: d.GetId()})
		st := wantCode(t, err, codes.NotFound)
		if strings.Contains(st.Message(), "org-a") {
			t.Errorf("NotFound message %q names the owning organisation", st.Message())
		}
		list, err := w.client.ListDocuments(as(c), &documentsv1.ListDocumentsRequest{MeetingId: meeting})
		if err != nil {
			t.Fatalf("ListDocuments as %s: %v", c.Subject, err)
		}
		if len(list.GetDocuments()) != 0 {
			t.Errorf("ListDocuments as %s = %v, want nothing", c.Subject, list.GetDocuments())
		}
	}
	if _, err := w.client.GetDocument(as(systemAdmin()), &documentsv1.GetDocumentRequest{DocumentId: d.GetId()}); err != nil {
		t.Errorf("GetDocument as system admin: %v", err)
	}
}

// Until meeting participation is known, confidential documents reach the
// organisation's administrators only.
func TestConfidentialDocuments(t *testing.T) {
	w := newWorld(t)
	meeting := uuid.NewString()
	open := w.add(t, paper(meeting, "org-a", "Thông báo"))
	secret := paper(meeting, "org-a", "Báo cáo nhân sự")
	secret.Classification = documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL
	conf := w.add(t, secret)

	_, err := w.client.GetDocument(as(member("org-a")), &documentsv1.GetDocumentRequest{DocumentId: conf.GetId()})
	wantCode(t, err, codes.NotFound)
	list, err := w.client.ListDocuments(as(member("org-a")), &documentsv1.ListDocumentsRequest{MeetingId: meeting})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*documentsv1.Document{open}, list.GetDocuments(), protocmp.Transform()); diff != "" {
		t.Errorf("member's list (-want +got):\n%s", diff)
	}

	for _, c := range []identity.Claims{orgAdmin("org-a"), systemAdmin()} {
		if _, err := w.client.GetDocument(as(c), &documentsv1.GetDocumentRequest{DocumentId: conf.GetId()}); err != nil {
			t.Errorf("GetDocument(confidential) as %s: %v", c.Subject, err)
		}
		list, err := w.client.ListDocuments(as(c), &documentsv1.ListDocumentsRequest{MeetingId: meeting})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]*documentsv1.Document{open, conf}, list.GetDocuments(), protocmp.Transform()); diff != "" {
			t.Errorf("list as %s (-want +got):\n%s", c.Subject, diff)
		}
	}
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
	w := newWorldWith(t, store)
	testenv.Eventually(t, waitLimit, func() error {
		ok, err := w.blob.Client().BucketExists(context.Background(), w.blob.Bucket())
		if err == nil && !ok {
			err = fmt.Errorf("bucket %s does not exist yet", w.blob.Bucket())
		}
		return err
	})
}

// Reading metadata and publishing events do not need object storage: with
// the store down the service still serves, and its minio probe says why it
// is not ready.
func TestServesWhileObjectStorageIsDown(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := lis.Addr().String()
	lis.Close() // nothing listens there now
	store, err := blob.Open(blob.Config{Endpoint: deadAddr, AccessKey: "k", SecretKey: "s", Bucket: "ecabinet"})
	if err != nil {
		t.Fatal(err)
	}
	w := newWorldWith(t, store)

	meeting := uuid.NewString()
	d := w.add(t, paper(meeting, "org-a", "Báo cáo"))
	if _, err := w.client.GetDocument(as(member("org-a")), &documentsv1.GetDocumentRequest{DocumentId: d.GetId()}); err != nil {
		t.Fatalf("GetDocument with object storage down: %v", err)
	}
	if msg := next(t, w.consumer(t)); !strings.HasSuffix(msg.Subject(), meeting+".added") {
		t.Fatalf("event on %q, want the added document's", msg.Subject())
	}
	for _, p := range w.svc.Probes() {
		err := p.Check(context.Background())
		if p.Name == "minio" {
			if err == nil || !strings.Contains(err.Error(), deadAddr) {
				t.Errorf("minio probe = %v, want an error naming %s", err, deadAddr)
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
	ctx := as(orgAdmin("org-a"))
	_, err = a.GetDocument(ctx, &documentsv1.GetDocumentRequest{DocumentId: uuid.NewString()})
	st := wantCode(t, err, codes.Unavailable)
	if !strings.Contains(st.Message(), "migrations") {
		t.Errorf("message %q does not say why", st.Message())
	}
	_, err = a.ListDocuments(ctx, &documentsv1.ListDocumentsRequest{MeetingId: uuid.NewString()})
	wantCode(t, err, codes.Unavailable)
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
