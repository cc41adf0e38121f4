package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ecabinet/ecabinet/e2e/suite"
	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

const (
	fanOutClients = 100      // tablets opening the same paper at once
	fanOutRounds  = 3        // repetitions, for percentiles over 300 requests
	paperBytes    = 20 << 20 // the agenda paper
	firstPage     = 64 << 10 // what PDF.js asks for first
	bigUpload     = 200_000_000
	// confidentialRounds: the confidential paper's rounds are short (tens
	// of milliseconds), and the CPU counters tick every 10 ms, so more of
	// them keep the CPU per request from being a handful of ticks.
	confidentialRounds = 10
)

// BenchmarkAgendaFanOut: 100 tablets download the same 20 MB PDF at once,
// and 100 ask for its first 64 KiB at once, three ways in the same run:
// through the gateway (what the app uses: every request authorised and
// recorded by the documents service, the bytes from the gateway's head and
// file caches once the first read has filled them, else from MinIO), the
// presigned-URL alternative (the gateway authorises and hands out a URL,
// the tablet fetches from MinIO), and straight from MinIO (the baseline).
// Beside throughput and latency it prints the servers' CPU per request,
// MinIO's included when MinIO is a process of this machine. Then a 200 MB
// upload through the gateway with the gateway's resident memory sampled.
// The gateway runs as its own process so its memory is its own.
//
// Between those reads and the upload, the first page of a CONFIDENTIAL
// paper, opened at once by the meeting's 100 participants, each as
// themselves: only participants may read it, so every read has the
// documents service ask the meetings service for the meeting as the reader
// (uncached, so that removing a participant ends their access at once; ADR
// 0002). It runs twice: with the processes above (gateway | meetings,
// documents, voting and video), and with the whole suite in one process as
// `make run` starts it (-target=all: the gateway calls the documents
// service, and the documents service the meetings service, in process),
// each beside MinIO serving the same bytes.
func BenchmarkAgendaFanOut(b *testing.B) {
	ns := testenv.EmbeddedNATS(b)
	env := suite.Env(b)
	env["NATS_URL"] = ns.URL()
	env["LOG_LEVEL"] = "warn"
	svc := suite.Start(b, "meetings,documents,voting,video", env)
	gw := suite.Start(b, "gateway", map[string]string{
		"NATS_URL": ns.URL(), "IDENTITY_SIGNING_KEY": env["IDENTITY_SIGNING_KEY"],
		"GRPC_ADDR": svc.GRPCAddr, "LOG_LEVEL": "warn",
	})
	gw.WaitReady(b)

	admin := identity.Claims{Subject: "bench-admin", Name: "Bench", Roles: []string{identity.RoleSystemAdmin}}
	seed, err := identity.DecodeSeed(env["IDENTITY_SIGNING_KEY"])
	if err != nil {
		b.Fatal(err)
	}
	signer, err := identity.NewSigner(seed)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := grpc.NewClient(svc.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(identity.UnaryClientInterceptor(signer)))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ctx := identity.NewContext(context.Background(), admin)
	org, meetingID := setUpPaperMeeting(b, ctx, conn)
	reader := identity.Claims{Subject: "bench-reader", Name: "Đảng viên", Orgs: []string{org}}
	readerToken := gw.Token(b, reader)
	adminToken := gw.Token(b, admin)

	pdf := benchPDF(paperBytes)
	docID := benchUpload(b, gw, adminToken, meetingID, pdf)
	content := gw.BaseURL + "/api/v1/documents/" + docID + "/content"
	docs := documentsv1.NewDocumentsServiceClient(conn)
	readerCtx := identity.NewContext(context.Background(), reader)
	presign := func() (string, error) {
		r, err := docs.OpenDocumentContent(readerCtx, &documentsv1.OpenDocumentContentRequest{DocumentId: docID, Access: documentsv1.AccessKind_ACCESS_KIND_VIEW})
		return r.GetUrl(), err
	}
	directURL, err := presign() // the baseline reuses one URL: no authorisation at all
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * fanOutClients, DisableCompression: true}}
	minioPID := listenerPID(env["S3_ENDPOINT"]) // "" when MinIO is not a process of this machine we can see
	confidential := setUpConfidentialPaper(b, gw, conn, pdf)

	for i := 0; i < b.N; i++ {
		fmt.Printf("\nagenda fan-out (%d clients × %d MB PDF, %d rounds; %s):\n", fanOutClients, paperBytes>>20, fanOutRounds, "same run, same machine")
		for _, size := range []int64{paperBytes, firstPage} {
			ways := []struct {
				name string
				get  func() (int64, error)
			}{
				{"gateway (streamed)", func() (int64, error) { return fetchBytes(client, content, readerToken, size) }},
				{"presigned URL", func() (int64, error) {
					u, err := presign()
					if err != nil {
						return 0, err
					}
					return fetchBytes(client, u, "", size)
				}},
				{"MinIO directly (base)", func() (int64, error) { return fetchBytes(client, directURL, "", size) }},
			}
			what := "whole 20 MB"
			if size == firstPage {
				what = "first 64 KiB"
			}
			// Rounds alternate between the ways, so a change of load on the
			// machine during the run falls on all of them alike; a first
			// round of each opens the connections and is not counted.
			results := make([]*fanOutResult, len(ways))
			warmUp := make([]*fanOutResult, len(ways))
			for i, w := range ways {
				results[i], warmUp[i] = &fanOutResult{}, &fanOutResult{}
				fanOut(b, w.get, warmUp[i])
			}
			// What the streamed way costs the two processes, counted over
			// its own rounds only, and what each way costs MinIO.
			var gwCost, svcCost procCost
			storeCPU := make([]float64, len(ways))
			for range fanOutRounds {
				for i, w := range ways {
					var gw0, svc0 procCost
					if i == 0 {
						gw0, svc0 = readProcCost(b, gw), readProcCost(b, svc)
					}
					store0 := cpuSeconds(minioPID)
					fanOut(b, w.get, results[i])
					storeCPU[i] += cpuSeconds(minioPID) - store0
					if i == 0 {
						gw1, svc1 := readProcCost(b, gw), readProcCost(b, svc)
						gwCost = gwCost.add(gw0, gw1)
						svcCost = svcCost.add(svc0, svc1)
					}
				}
			}
			rates := map[string]float64{}
			for i, w := range ways {
				rate, lat := results[i].summary(b)
				rates[w.name] = rate
				fmt.Printf("  %-12s %-22s %8.0f MB/s  p50 %-10v p99 %v\n", what, w.name, rate, lat.p50, lat.p99)
			}
			baseRate := rates["MinIO directly (base)"]
			fmt.Printf("  %-12s gateway/MinIO throughput %.2f×  [budget ≥ 0.8×%s]\n", what, rates["gateway (streamed)"]/baseRate,
				map[bool]string{true: ", first-page p99 < 50 ms", false: ""}[size == firstPage])
			// The gateway keeps the first bytes of a version in memory
			// (gateway/files/headcache.go), so the counted rounds of the
			// first page are served from there; its first round found the
			// cache empty (the whole-file requests before do not fill it),
			// as the tablets opening a paper for the first time do.
			_, cold := warmUp[0].summary(b)
			fmt.Printf("  %-12s gateway (streamed), uncounted first round: p50 %v p99 %v\n", what, cold.p50, cold.p99)
			n := fanOutClients * fanOutRounds
			fmt.Printf("  %-12s streamed, per request: gateway %s; services %s; load average %s\n", what,
				procCost{}.perRequest(gwCost, n), procCost{}.perRequest(svcCost, n), loadAverage())
			if minioPID != "" {
				// The servers' CPU per request, which moves far less with
				// the machine's load than throughput does.
				fmt.Printf("  %-12s server CPU per request: gateway + services %.0f µs (MinIO meanwhile %.0f µs); MinIO directly %.0f µs\n", what,
					(gwCost.cpu+svcCost.cpu)/float64(n)*1e6, storeCPU[0]/float64(n)*1e6, storeCPU[len(ways)-1]/float64(n)*1e6)
			}
			b.ReportMetric(rates["gateway (streamed)"]/baseRate, strings.ReplaceAll(what, " ", "-")+"-gateway/minio")
		}

		confidentialFirstPage(b, client, confidential, "gateway | services processes, as above", "split",
			[]costedProcess{{"gateway", gw}, {"services", svc}}, minioPID)
		// The same with the whole suite in one process (make run); started
		// only now, so that it is not running beside the figures above.
		allEnv := suite.Env(b)
		allEnv["LOG_LEVEL"] = "warn"
		all := suite.Start(b, "all", allEnv)
		all.WaitReady(b)
		allConn := dialSuite(b, all)
		confidentialFirstPage(b, client, setUpConfidentialPaper(b, all, allConn, pdf), "one process, -target=all", "all",
			[]costedProcess{{"ecabinet", all}}, minioPID)
		allConn.Close()
		if err := all.Stop(); err != nil {
			b.Errorf("stop -target=all: %v", err)
		}

		gwBase, svcBase := residentBytes(b, gw), residentBytes(b, svc)
		gw20, svc20 := uploadSampling(b, gw, svc, adminToken, meetingID, paperBytes)
		gw200, svc200 := uploadSampling(b, gw, svc, adminToken, meetingID, bigUpload)
		fmt.Printf("  upload, resident memory (idle → peak with 20 MB → peak with 200 MB): gateway %d → %d → %d MiB; services %d → %d → %d MiB\n\n",
			gwBase>>20, gw20>>20, gw200>>20, svcBase>>20, svc20>>20, svc200>>20)
		b.ReportMetric(float64(gw200>>20), "gateway-peak-MiB-200MB-upload")
	}
}

// setUpPaperMeeting makes an organisation and a meeting of it.
func setUpPaperMeeting(b *testing.B, ctx context.Context, conn *grpc.ClientConn) (org, meetingID string) {
	b.Helper()
	o, err := meetingsv1.NewDirectoryServiceClient(conn).CreateOrganization(ctx, &meetingsv1.CreateOrganizationRequest{
		Name: "Đảng bộ (benchmark tài liệu)", Kind: meetingsv1.OrganizationKind_ORGANIZATION_KIND_BLOC_COMMITTEE})
	if err != nil {
		b.Fatalf("create organisation: %v", err)
	}
	start := time.Now().Add(time.Hour)
	m, err := meetingsv1.NewMeetingsServiceClient(conn).CreateMeeting(ctx, &meetingsv1.CreateMeetingRequest{
		OrganizationId: o.GetOrganization().GetId(), Title: "Hội nghị (benchmark tài liệu)",
		Kind: meetingsv1.MeetingKind_MEETING_KIND_STANDING_COMMITTEE, Place: "Hội trường",
		StartsAt: timestamppb.New(start), EndsAt: timestamppb.New(start.Add(2 * time.Hour))})
	if err != nil {
		b.Fatalf("create meeting: %v", err)
	}
	return o.GetOrganization().GetId(), m.GetMeeting().GetId()
}

// benchPDF is a valid one-page PDF padded to about size bytes.
func benchPDF(size int) []byte {
	var buf bytes.Buffer
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, buf.Len())
		fmt.Fprintf(&buf, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	buf.WriteString("%PDF-1.4\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
	pad := max(size-buf.Len()-300, 0)
	obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", pad, bytes.Repeat([]byte("0"), pad)))
	xref := buf.Len()
	fmt.Fprintf(&buf, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&buf, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&buf, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return buf.Bytes()
}

func uploadURL(gw *suite.Process, meetingID string) string {
	return uploadURLAs(gw, meetingID, "INTERNAL")
}

func uploadURLAs(gw *suite.Process, meetingID, classification string) string {
	q := url.Values{"meeting_id": {meetingID}, "title": {"Báo cáo (benchmark)"}, "kind": {"AGENDA_PAPER"},
		"classification": {classification}, "file_name": {"bao-cao.pdf"}}
	return gw.BaseURL + "/api/v1/documents:upload?" + q.Encode()
}

func benchUpload(b *testing.B, gw *suite.Process, token, meetingID string, data []byte) string {
	return benchUploadAs(b, gw, token, meetingID, "INTERNAL", data)
}

func benchUploadAs(b *testing.B, gw *suite.Process, token, meetingID, classification string, data []byte) string {
	b.Helper()
	req, _ := http.NewRequest(http.MethodPost, uploadURLAs(gw, meetingID, classification), bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/pdf")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	_, rest, _ := strings.Cut(string(body), `"id":"`)
	id, _, _ := strings.Cut(rest, `"`)
	return id
}

// fetchBytes GETs url (the first size bytes when size is less than the
// paper) and returns how many bytes arrived.
func fetchBytes(c *http.Client, u, token string, size int64) (int64, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	want := http.StatusOK
	if size < paperBytes {
		req.Header.Set("Range", fmt.Sprintf("bytes=0-%d", size-1))
		want = http.StatusPartialContent
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != want {
		err = fmt.Errorf("GET: %d", resp.StatusCode)
	}
	return n, err
}

type docLatencies struct{ p50, p99 time.Duration }

// fanOutResult accumulates rounds of one way.
type fanOutResult struct {
	mu    sync.Mutex
	all   []time.Duration
	total int64
	wall  time.Duration
}

// summary is the aggregate MB/s (bytes over wall time of all rounds) and
// the latency percentiles of single calls.
func (r *fanOutResult) summary(b *testing.B) (float64, docLatencies) {
	b.Helper()
	sort.Slice(r.all, func(i, j int) bool { return r.all[i] < r.all[j] })
	if len(r.all) == 0 {
		b.Fatal("no request succeeded")
	}
	return float64(r.total) / (1 << 20) / r.wall.Seconds(), docLatencies{
		p50: r.all[len(r.all)/2].Round(100 * time.Microsecond),
		p99: r.all[len(r.all)*99/100].Round(100 * time.Microsecond),
	}
}

// fanOut runs one round of fanOutClients simultaneous calls into r.
func fanOut(b *testing.B, get func() (int64, error), r *fanOutResult) {
	b.Helper()
	fanOutEach(b, func(int) (int64, error) { return get() }, r)
}

// fanOutEach is fanOut with each call told its client's number (0 to
// fanOutClients-1), for clients that are different people.
func fanOutEach(b *testing.B, get func(client int) (int64, error), r *fanOutResult) {
	b.Helper()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range fanOutClients {
		wg.Go(func() {
			<-start
			t := time.Now()
			n, err := get(i)
			d := time.Since(t)
			r.mu.Lock()
			defer r.mu.Unlock()
			if err != nil {
				b.Error(err)
				return
			}
			r.all = append(r.all, d)
			r.total += n
		})
	}
	t := time.Now()
	close(start)
	wg.Wait()
	r.wall += time.Since(t)
}

// residentBytes reads process_resident_memory_bytes from p's /metrics.
func residentBytes(b *testing.B, p *suite.Process) int64 {
	b.Helper()
	resp, err := http.Get(p.BaseURL + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "process_resident_memory_bytes "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatal(err)
			}
			return int64(f)
		}
	}
	b.Fatal("no process_resident_memory_bytes in /metrics")
	return 0
}

// uploadSampling uploads a PDF of size bytes through the gateway, streamed
// from a generator (the benchmark does not hold it either), and returns
// the highest resident memory of the gateway and of the services process
// seen meanwhile.
func uploadSampling(b *testing.B, gw, svc *suite.Process, token, meetingID string, size int) (gwPeak, svcPeak int64) {
	b.Helper()
	body := io.MultiReader(bytes.NewReader(benchPDFHead(size)), io.LimitReader(zeros{}, int64(size)), bytes.NewReader(benchPDFTail(size)))
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequest(http.MethodPost, uploadURL(gw, meetingID), body)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/pdf")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Error(err)
			return
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			b.Errorf("upload of %d bytes: %d %s", size, resp.StatusCode, msg)
		}
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		gwPeak, svcPeak = max(gwPeak, residentBytes(b, gw)), max(svcPeak, residentBytes(b, svc))
		select {
		case <-done:
			return gwPeak, svcPeak
		case <-tick.C:
		}
	}
}

// A streamed PDF: header and objects, a padding stream of size zero bytes,
// then the cross-reference table with the offsets that follow.
func benchPDFHead(size int) []byte {
	return []byte(fmt.Sprintf("%%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n4 0 obj\n<< /Length %d >>\nstream\n", size))
}

func benchPDFTail(size int) []byte {
	head := benchPDFHead(size)
	o1 := bytes.Index(head, []byte("1 0 obj"))
	o2 := bytes.Index(head, []byte("2 0 obj"))
	o3 := bytes.Index(head, []byte("3 0 obj"))
	o4 := bytes.Index(head, []byte("4 0 obj"))
	trailer := "\nendstream\nendobj\n"
	xref := len(head) + size + len(trailer)
	return []byte(fmt.Sprintf("%sxref\n0 5\n0000000000 65535 f \n%010d 00000 n \n%010d 00000 n \n%010d 00000 n \n%010d 00000 n \ntrailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n",
		trailer, o1, o2, o3, o4, xref))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// confidentialPaper is a confidential paper of a meeting of
// fanOutClients participants.
type confidentialPaper struct {
	content   string   // its content through the gateway
	tokens    []string // each participant's bearer token
	directURL string   // a presigned URL of it, for the MinIO baseline
}

// dialSuite is a gRPC connection to p's services that signs the claims of
// the call's context with p's key.
func dialSuite(b *testing.B, p *suite.Process) *grpc.ClientConn {
	b.Helper()
	seed, err := identity.DecodeSeed(p.Env["IDENTITY_SIGNING_KEY"])
	if err != nil {
		b.Fatal(err)
	}
	signer, err := identity.NewSigner(seed)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := grpc.NewClient(p.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(identity.UnaryClientInterceptor(signer)))
	if err != nil {
		b.Fatal(err)
	}
	return conn
}

// setUpConfidentialPaper imports fanOutClients official members into a new
// organisation with one spreadsheet, makes a whole-organisation meeting of
// them all and uploads pdf to it through gw as a confidential paper; conn
// reaches the same suite's services.
func setUpConfidentialPaper(b *testing.B, gw *suite.Process, conn *grpc.ClientConn, pdf []byte) confidentialPaper {
	b.Helper()
	admin := identity.Claims{Subject: "bench-admin", Name: "Bench", Roles: []string{identity.RoleSystemAdmin}}
	ctx := identity.NewContext(context.Background(), admin)
	dir := meetingsv1.NewDirectoryServiceClient(conn)
	mtg := meetingsv1.NewMeetingsServiceClient(conn)
	org := importedOrganization(b, ctx, dir, "Chi bộ (benchmark tài liệu mật)", meetingsv1.OrganizationKind_ORGANIZATION_KIND_CELL,
		fanOutClients, "Trần Thị Mai", 98)
	start := time.Now().Add(time.Hour)
	m, err := mtg.CreateMeeting(ctx, &meetingsv1.CreateMeetingRequest{OrganizationId: org, Title: "Sinh hoạt chi bộ (benchmark tài liệu mật)",
		Kind: meetingsv1.MeetingKind_MEETING_KIND_CELL_REGULAR, Place: "Phòng họp", StartsAt: timestamppb.New(start),
		EndsAt: timestamppb.New(start.Add(2 * time.Hour)), Body: meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS})
	if err != nil {
		b.Fatalf("create meeting: %v", err)
	}
	meetingID := m.GetMeeting().GetId()
	added, err := mtg.AddParticipants(ctx, &meetingsv1.AddParticipantsRequest{MeetingId: meetingID, FromBody: true})
	if err != nil {
		b.Fatalf("add participants: %v", err)
	}
	var cp confidentialPaper
	var first identity.Claims
	for _, pt := range added.GetMeeting().GetParticipants() {
		c := identity.Claims{Subject: pt.GetPersonId(), Name: pt.GetFullName(), Orgs: []string{org}}
		if cp.tokens == nil {
			first = c
		}
		cp.tokens = append(cp.tokens, gw.Token(b, c))
	}
	if len(cp.tokens) != fanOutClients {
		b.Fatalf("%d participants, want %d", len(cp.tokens), fanOutClients)
	}
	docID := benchUploadAs(b, gw, gw.Token(b, admin), meetingID, "CONFIDENTIAL", pdf)
	cp.content = gw.BaseURL + "/api/v1/documents/" + docID + "/content"
	r, err := documentsv1.NewDocumentsServiceClient(conn).OpenDocumentContent(identity.NewContext(context.Background(), first),
		&documentsv1.OpenDocumentContentRequest{DocumentId: docID, Access: documentsv1.AccessKind_ACCESS_KIND_VIEW})
	if err != nil {
		b.Fatalf("presign the confidential paper: %v", err)
	}
	cp.directURL = r.GetUrl()
	// Someone of the organisation who does not take part is refused, so
	// the figures below are of reads that asked about participation.
	outsider := gw.Token(b, identity.Claims{Subject: "bench-outsider", Name: "Đảng viên", Orgs: []string{org}})
	if _, err := fetchBytes(http.DefaultClient, cp.content, outsider, firstPage); err == nil || !strings.Contains(err.Error(), "404") {
		b.Fatalf("a member who does not take part read the confidential paper: %v", err)
	}
	return cp
}

// costedProcess is a process whose CPU the figures count.
type costedProcess struct {
	name string
	p    *suite.Process
}

// confidentialFirstPage: every participant opens the first 64 KiB of the
// confidential paper at once, through the gateway and, alternating with
// it, straight from MinIO; printed like the lines above, with the CPU per
// request of procs (the suite's processes in that layout) over the
// gateway's rounds.
func confidentialFirstPage(b *testing.B, client *http.Client, cp confidentialPaper, layout, key string, procs []costedProcess, minioPID string) {
	b.Helper()
	ways := []struct {
		name string
		get  func(int) (int64, error)
	}{
		{"gateway (streamed)", func(i int) (int64, error) { return fetchBytes(client, cp.content, cp.tokens[i], firstPage) }},
		{"MinIO directly (base)", func(int) (int64, error) { return fetchBytes(client, cp.directURL, "", firstPage) }},
	}
	const what = "confidential"
	fmt.Printf("  first 64 KiB of a confidential paper, %d participants each as themselves, %d rounds (%s):\n", fanOutClients, confidentialRounds, layout)
	results := make([]*fanOutResult, len(ways))
	warmUp := make([]*fanOutResult, len(ways))
	for i, w := range ways {
		results[i], warmUp[i] = &fanOutResult{}, &fanOutResult{}
		fanOutEach(b, w.get, warmUp[i])
	}
	costs := make([]procCost, len(procs))
	storeCPU := make([]float64, len(ways))
	for range confidentialRounds {
		for i, w := range ways {
			before := make([]procCost, len(procs))
			if i == 0 {
				for j, p := range procs {
					before[j] = readProcCost(b, p.p)
				}
			}
			store0 := cpuSeconds(minioPID)
			fanOutEach(b, w.get, results[i])
			storeCPU[i] += cpuSeconds(minioPID) - store0
			if i == 0 {
				for j, p := range procs {
					costs[j] = costs[j].add(before[j], readProcCost(b, p.p))
				}
			}
		}
	}
	rates := map[string]float64{}
	for i, w := range ways {
		rate, lat := results[i].summary(b)
		rates[w.name] = rate
		fmt.Printf("  %-12s %-22s %8.0f MB/s  p50 %-10v p99 %v\n", what, w.name, rate, lat.p50, lat.p99)
	}
	fmt.Printf("  %-12s gateway/MinIO throughput %.2f×\n", what, rates["gateway (streamed)"]/rates["MinIO directly (base)"])
	_, cold := warmUp[0].summary(b)
	fmt.Printf("  %-12s gateway (streamed), uncounted first round: p50 %v p99 %v\n", what, cold.p50, cold.p99)
	n := fanOutClients * confidentialRounds
	var per []string
	var cpu float64
	for j, p := range procs {
		per = append(per, p.name+" "+procCost{}.perRequest(costs[j], n))
		cpu += costs[j].cpu
	}
	fmt.Printf("  %-12s streamed, per request: %s; load average %s\n", what, strings.Join(per, "; "), loadAverage())
	if minioPID != "" {
		fmt.Printf("  %-12s server CPU per request: suite %.0f µs (MinIO meanwhile %.0f µs); MinIO directly %.0f µs\n", what,
			cpu/float64(n)*1e6, storeCPU[0]/float64(n)*1e6, storeCPU[len(ways)-1]/float64(n)*1e6)
	}
	b.ReportMetric(cpu/float64(n)*1e6, "confidential-first-page-cpu-us/req-"+key)
}
