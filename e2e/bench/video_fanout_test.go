package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ecabinet/ecabinet/e2e/suite"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/ecabinet/ecabinet/services/video/videotest"
)

const (
	// fanOutFrameBytes: 30 frames of 6,250 bytes a second is 1.5 Mbit/s
	// of VP8, beside 20 ms Opus packets.
	fanOutFrameBytes = 6250
	// fanOutWindow is how long each step is measured.
	fanOutWindow = 10 * time.Second
)

var fanOutSteps = []int{10, 50, 100}

// BenchmarkVideoBridgePointFanOut: one publisher (about 1.5 Mbit/s of
// synthetic VP8 and Opus, paced in real time) to 10, 50 and 100 receiving
// bridge points through the video service running as its own process (so
// its CPU is its own), with pion clients on loopback. For each step: the
// service's CPU, the video loss of the subscribers (mean and worst), and
// the latency publisher → subscriber beside the baseline, the same
// publisher sending straight to one subscriber with no SFU, measured in the
// same run; the difference is what the SFU adds. Latency is a whole
// frame's (sent → its last packet in: what a decoder waits for); the first
// packet's is printed beside it but hides how long the rest of a frame
// takes to reach everyone. Inside the SFU: from reading a packet to having
// written it to all subscribers, and to each one (the budget's "adds"),
// from its metrics. The clients share the machine with the service, so the
// figures are an upper bound; how late the clients' process wakes up is
// printed too.
func BenchmarkVideoBridgePointFanOut(b *testing.B) {
	ns := testenv.EmbeddedNATS(b)
	env := suite.Env(b)
	env["NATS_URL"] = ns.URL()
	env["LOG_LEVEL"] = "warn"
	mtg := suite.Start(b, "meetings", env)

	seed, err := identity.DecodeSeed(env["IDENTITY_SIGNING_KEY"])
	if err != nil {
		b.Fatal(err)
	}
	signer, err := identity.NewSigner(seed)
	if err != nil {
		b.Fatal(err)
	}
	dial := func(addr string) *grpc.ClientConn {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithChainUnaryInterceptor(identity.UnaryClientInterceptor(signer)),
			grpc.WithChainStreamInterceptor(identity.StreamClientInterceptor(signer)))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close() })
		return conn
	}
	admin := identity.NewContext(context.Background(), identity.Claims{Subject: "bench-admin", Name: "Bench", Roles: []string{identity.RoleSystemAdmin}})
	steps := fanOutSteps[len(fanOutSteps)-1]
	org, meetingID, people := setUpFanOutMeeting(b, admin, dial(mtg.GRPCAddr), steps+1)

	videoAddr, opsAddr, pid := startVideo(b, env, mtg.GRPCAddr, steps+10)
	video := videov1.NewVideoServiceClient(dial(videoAddr))
	retry(b, "open the room", func() error {
		_, err := video.OpenRoom(admin, &videov1.OpenRoomRequest{MeetingId: meetingID, OrganizationId: org, Mode: videov1.RoomMode_ROOM_MODE_BRIDGE_POINTS})
		return err
	})
	api := videotest.API(b)
	join := func(p identity.Claims, measure bool) *videotest.Client {
		ctx := identity.NewContext(context.Background(), p)
		tok, err := video.IssueJoinToken(ctx, &videov1.IssueJoinTokenRequest{MeetingId: meetingID})
		if err != nil {
			b.Fatalf("join token: %v", err)
		}
		stream, err := video.Signal(ctx)
		if err != nil {
			b.Fatal(err)
		}
		c := videotest.New(b, api, stream)
		c.Sink.Measure = measure
		if err := c.Join(meetingID, tok.GetToken()); err != nil {
			b.Fatalf("join: %v", err)
		}
		return c
	}

	for i := 0; i < b.N; i++ {
		fmt.Printf("\nbridge-point fan-out (1 publisher, ~1.5 Mbit/s VP8 + Opus, %v per step; same run, same machine):\n", fanOutWindow)
		direct := directBaseline(b, api, 1)
		fmt.Printf("  %-26s frame latency p50 %-9v p99 %-9v loss %.3f%% (first packet: p50 %v p99 %v)\n",
			"direct, no SFU (base)", direct.p50, direct.p99, direct.loss*100, direct.first.p50, direct.first.p99)
		// Before the publisher joins, so that the service is idle meanwhile.
		directTo := map[int]fanOutFigures{}
		for _, n := range fanOutSteps {
			d := directBaseline(b, api, n)
			directTo[n] = d
			fmt.Printf("  %3d receivers direct, no SFU frame latency p50 %-9v p99 %-9v loss worst %.3f%%\n", n, d.p50, d.p99, d.loss*100)
		}

		pub := join(people[0], false)
		pub.Source.FrameBytes = fanOutFrameBytes
		pub.Source.Stamp = true
		pub.Publish()
		pub.Offer()
		from := pub.Joined.GetParticipantId()
		var subs []*videotest.Client
		for _, n := range fanOutSteps {
			for len(subs) < n {
				s := join(people[len(subs)+1], true)
				s.Watch()
				s.Offer()
				subs = append(subs, s)
			}
			for _, s := range subs {
				s.WaitFor("the publisher's keyframe", func() bool {
					v := s.Track(webrtc.RTPCodecTypeVideo, from)
					return v != nil && v.Keyframes.Load() > 0
				})
			}
			for _, s := range subs {
				s.Track(webrtc.RTPCodecTypeVideo, from).Reset()
			}
			scrape0 := scrape(b, opsAddr)
			cpu0, t0 := cpuTicks(b, pid), time.Now()
			own0, wait0, ownWait0 := cpuTicks(b, os.Getpid()), runnableWait(pid), runnableWait(os.Getpid())
			noise := schedulerNoise(fanOutWindow)
			cpu := float64(cpuTicks(b, pid)-cpu0) / clockTicks / time.Since(t0).Seconds()
			ownCPU := float64(cpuTicks(b, os.Getpid())-own0) / clockTicks / time.Since(t0).Seconds()
			wait, ownWait := runnableWait(pid)-wait0, runnableWait(os.Getpid())-ownWait0
			scrape1 := scrape(b, opsAddr)
			fwd := scrape1.buckets(b, forwardMetric, true).minus(scrape0.buckets(b, forwardMetric, true))
			var all, first []time.Duration
			var lossSum, worst float64
			for _, s := range subs {
				v := s.Track(webrtc.RTPCodecTypeVideo, from)
				loss, _ := v.Loss()
				lossSum += loss
				worst = max(worst, loss)
				all = append(all, v.Latencies()...)
				first = append(first, v.FirstPacketLatencies()...)
			}
			lat, lat1 := summarise(all), summarise(first)
			fmt.Printf("  %3d subscribers via SFU     frame latency p50 %-9v p99 %-9v loss mean %.3f%% worst %.3f%%  SFU CPU %.0f%% of a core\n",
				n, lat.p50, lat.p99, lossSum/float64(len(subs))*100, worst*100, cpu*100)
			// CPU per packet per subscriber: the service's whole CPU over
			// the packets it read times the subscribers each went to.
			perSend := cpu * fanOutWindow.Seconds() * 1e6 / float64(fwd.count()*n)
			fmt.Printf("  %3d: CPU                     SFU %.1f µs per packet per subscriber (%.0f packets/s in), resident %s; the clients' process %.0f%% of a core\n",
				n, perSend, float64(fwd.count())/fanOutWindow.Seconds(), residentMemory(pid), ownCPU*100)
			fmt.Printf("  %3d: waiting for a CPU      SFU threads %v, the clients' threads %v (runnable but not running, summed over threads, in %v)\n",
				n, wait.Round(time.Millisecond), ownWait.Round(time.Millisecond), fanOutWindow)
			fmt.Printf("  %3d: clients' wake-up delay  a 1ms sleep overslept p50 %-9v p99 %v (part of the end-to-end figures)\n", n, noise.p50, noise.p99)
			fmt.Printf("  %3d: end to end minus base  frame p50 %-9v p99 %-9v (first packet: p50 %v p99 %v)\n",
				n, lat.p50-direct.p50, lat.p99-direct.p99, lat1.p50-direct.first.p50, lat1.p99-direct.first.p99)
			dn := directTo[n]
			fmt.Printf("  %3d: minus direct to %-3d     frame p50 %-9v p99 %-9v (what the SFU adds to delivering to as many receivers without it)\n",
				n, n, lat.p50-dn.p50, lat.p99-dn.p99)
			fmt.Printf("  %3d: inside the SFU         p50 ≤ %-7v p99 ≤ %v  (read → written to all %d; %d packets)\n",
				n, fwd.quantile(0.5), fwd.quantile(0.99), n, fwd.count())
			// Older builds (one writer for all subscribers) have no
			// per-subscriber figure; theirs is the one above.
			per := scrape1.buckets(b, subscriberDelayMetric, false)
			if per.le != nil {
				per = per.minus(scrape0.buckets(b, subscriberDelayMetric, true))
				fmt.Printf("  %3d: inside the SFU         p50 ≤ %-7v p99 ≤ %v  (read → written to one subscriber; %d packet×subscriber)\n",
					n, per.quantile(0.5), per.quantile(0.99), per.count())
			}
			if d, ok := scrape1.counter(droppedMetric); ok {
				d0, _ := scrape0.counter(droppedMetric)
				fmt.Printf("  %3d: dropped for subscribers whose queue was full: %.0f packets\n", n, d-d0)
			}
			if n == fanOutSteps[len(fanOutSteps)-1] {
				b.ReportMetric(float64(fwd.quantile(0.99).d.Microseconds())/1000, "sfu-p99-ms")
				if per.le != nil {
					b.ReportMetric(float64(per.quantile(0.99).d.Microseconds())/1000, "sfu-per-sub-p99-ms")
				}
				b.ReportMetric(float64((lat.p99-direct.p99).Microseconds())/1000, "e2e-added-p99-ms")
				b.ReportMetric(float64((lat.p99-dn.p99).Microseconds())/1000, "added-vs-direct-p99-ms")
				b.ReportMetric(worst*100, "worst-loss-%")
				b.ReportMetric(cpu*100, "sfu-cpu-%")
				b.ReportMetric(perSend, "sfu-µs/packet/subscriber")
			}
		}
		fmt.Printf("  [budget at 100: loss < 0.5%%, SFU adds < 5ms p99 (DESIGN.md)]\n\n")
		for _, s := range subs {
			s.Close()
		}
		pub.Close()
	}
}

// fanOutFigures: the latency of whole frames (sent → last packet in,
// what a decoder waits for) and of first packets, and the loss.
// schedulerNoise sleeps 1 ms at a time for d and returns by how much the
// sleeps overran: how late a ready goroutine of this process (the one the
// subscribers run in, sharing the machine with the service and whatever
// else runs) gets to run. The end-to-end figures include such delays on
// the subscribers' side.
func schedulerNoise(d time.Duration) latencies {
	var late []time.Duration
	for end := time.Now().Add(d); time.Now().Before(end); {
		t := time.Now()
		time.Sleep(time.Millisecond)
		late = append(late, time.Since(t)-time.Millisecond)
	}
	return summarise(late)
}

type fanOutFigures struct {
	p50, p99 time.Duration
	first    struct{ p50, p99 time.Duration }
	loss     float64
}

// directBaseline sends the same media from one pion peer straight to n
// others (no SFU) for one window, each receiver's copy of a frame written
// on its own goroutine as the frame is made (videotest.VideoCopy). With
// n = 1 it is the path without the SFU's hop; with as many receivers as a
// step has, it is delivering to them all without an SFU, on the same two
// cores with as many receivers decrypting: what a step costs this machine
// before the SFU adds its hop.
func directBaseline(b *testing.B, api *webrtc.API, n int) fanOutFigures {
	b.Helper()
	src := videotest.NewSource(b)
	src.FrameBytes, src.Stamp = fanOutFrameBytes, true
	defer src.Stop()
	sinks := make([]*videotest.Sink, n)
	for i := range sinks {
		pubPC, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			b.Fatal(err)
		}
		defer pubPC.Close()
		subPC, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			b.Fatal(err)
		}
		defer subPC.Close()
		vs, err := pubPC.AddTrack(src.VideoCopy(b))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pubPC.AddTrack(src.Audio); err != nil {
			b.Fatal(err)
		}
		go src.ReadRTCP(vs)
		sinks[i] = &videotest.Sink{Measure: true}
		subPC.OnTrack(sinks[i].OnTrack)
		connect(b, pubPC, subPC)
	}
	src.Start()
	videos := make([]*videotest.Received, n)
	deadline := time.Now().Add(videotest.Wait)
	for i, sink := range sinks {
		for videos[i] == nil || videos[i].Keyframes.Load() == 0 {
			if time.Now().After(deadline) {
				b.Fatalf("direct baseline to %d: no video arrived at receiver %d", n, i)
			}
			time.Sleep(20 * time.Millisecond)
			for _, r := range sink.Received() {
				if r.Kind == webrtc.RTPCodecTypeVideo {
					videos[i] = r
				}
			}
		}
	}
	for _, v := range videos {
		v.Reset()
	}
	time.Sleep(fanOutWindow)
	var all, first []time.Duration
	var out fanOutFigures
	for _, v := range videos {
		all = append(all, v.Latencies()...)
		first = append(first, v.FirstPacketLatencies()...)
		loss, _ := v.Loss()
		out.loss = max(out.loss, loss)
	}
	lat, lat1 := summarise(all), summarise(first)
	out.p50, out.p99 = lat.p50, lat.p99
	out.first.p50, out.first.p99 = lat1.p50, lat1.p99
	return out
}

// connect negotiates pub → sub without trickle: the descriptions carry
// the (loopback) candidates.
func connect(b *testing.B, pub, sub *webrtc.PeerConnection) {
	b.Helper()
	offer, err := pub.CreateOffer(nil)
	if err != nil {
		b.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pub)
	if err := pub.SetLocalDescription(offer); err != nil {
		b.Fatal(err)
	}
	<-gathered
	if err := sub.SetRemoteDescription(*pub.LocalDescription()); err != nil {
		b.Fatal(err)
	}
	answer, err := sub.CreateAnswer(nil)
	if err != nil {
		b.Fatal(err)
	}
	gathered = webrtc.GatheringCompletePromise(sub)
	if err := sub.SetLocalDescription(answer); err != nil {
		b.Fatal(err)
	}
	<-gathered
	if err := pub.SetRemoteDescription(*sub.LocalDescription()); err != nil {
		b.Fatal(err)
	}
}

// setUpFanOutMeeting makes an organisation of n members and a meeting of
// them, started; the first chairs (the main hall).
func setUpFanOutMeeting(b *testing.B, ctx context.Context, conn *grpc.ClientConn, n int) (string, string, []identity.Claims) {
	b.Helper()
	dir := meetingsv1.NewDirectoryServiceClient(conn)
	mtg := meetingsv1.NewMeetingsServiceClient(conn)
	var org *meetingsv1.CreateOrganizationResponse
	retry(b, "create the organisation", func() (err error) {
		org, err = dir.CreateOrganization(ctx, &meetingsv1.CreateOrganizationRequest{
			Name: "Đảng ủy Khối (hội nghị trực tuyến)", Kind: meetingsv1.OrganizationKind_ORGANIZATION_KIND_BLOC_COMMITTEE})
		return err
	})
	orgID := org.GetOrganization().GetId()
	var csv strings.Builder
	csv.WriteString("Họ và tên,Số thẻ đảng,Chức vụ,Cơ quan,Loại đảng viên\n")
	for i := range n {
		fmt.Fprintf(&csv, "Lê Văn Điểm Cầu %03d,77.%06d,Đảng viên,Toàn chi bộ,Chính thức\n", i, i)
	}
	imp, err := dir.ImportMembers(ctx, &meetingsv1.ImportMembersRequest{OrganizationId: orgID, Content: []byte(csv.String()), FileName: "diem-cau.csv"})
	if err != nil || !imp.GetApplied() {
		b.Fatalf("import %d members: %v (%d problems)", n, err, len(imp.GetProblems()))
	}
	start := time.Now().Add(-5 * time.Minute)
	m, err := mtg.CreateMeeting(ctx, &meetingsv1.CreateMeetingRequest{OrganizationId: orgID, Title: "Hội nghị học tập Nghị quyết (trực tuyến)",
		Kind: meetingsv1.MeetingKind_MEETING_KIND_CELL_REGULAR, Place: "Hội trường chính", StartsAt: timestamppb.New(start),
		EndsAt: timestamppb.New(start.Add(3 * time.Hour)), Body: meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS, Online: true})
	if err != nil {
		b.Fatalf("create meeting: %v", err)
	}
	id := m.GetMeeting().GetId()
	added, err := mtg.AddParticipants(ctx, &meetingsv1.AddParticipantsRequest{MeetingId: id, FromBody: true})
	if err != nil {
		b.Fatalf("add participants: %v", err)
	}
	var people []identity.Claims
	for _, pt := range added.GetMeeting().GetParticipants() {
		people = append(people, identity.Claims{Subject: pt.GetPersonId(), Name: pt.GetFullName(), Orgs: []string{orgID}})
	}
	if len(people) != n {
		b.Fatalf("%d participants, want %d", len(people), n)
	}
	if _, err := mtg.UpdateParticipant(ctx, &meetingsv1.UpdateParticipantRequest{MeetingId: id, PersonId: people[0].Subject,
		Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR}); err != nil {
		b.Fatalf("set the chair: %v", err)
	}
	return orgID, id, people
}

// startVideo runs `ecabinet -target=video` as its own process and returns
// its gRPC address, its ops (metrics) address and pid.
func startVideo(b *testing.B, env map[string]string, meetingsAddr string, maxParticipants int) (string, string, int) {
	b.Helper()
	addr, ops := suite.FreeAddr(b), suite.FreeAddr(b)
	cmd := exec.Command(suite.Binary(b), "-target=video")
	cmd.Env = os.Environ()
	for _, k := range []string{"DATABASE_URL", "NATS_URL", "IDENTITY_SIGNING_KEY"} {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.Env = append(cmd.Env, "GRPC_ADDR="+addr, "HTTP_ADDR="+ops, "MEETINGS_ADDR="+meetingsAddr,
		"VIDEO_MAX_PARTICIPANTS="+strconv.Itoa(maxParticipants), "LOG_LEVEL=warn")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if b.Failed() {
			b.Logf("video logs:\n%s", logs.String())
		}
	})
	return addr, ops, cmd.Process.Pid
}

// histogram is the cumulative bucket counts of a Prometheus histogram.
type histogram struct {
	le     []float64 // upper bounds, ascending, +Inf last
	counts []float64
}

// The SFU's forwarding figures on its /metrics.
const (
	forwardMetric         = "ecabinet_video_forward_duration_seconds"
	subscriberDelayMetric = "ecabinet_video_forward_subscriber_delay_seconds"
	droppedMetric         = "ecabinet_video_forward_dropped_packets_total"
)

// metricsText is one scrape of a process's /metrics.
type metricsText string

func scrape(b *testing.B, opsAddr string) metricsText {
	b.Helper()
	resp, err := http.Get("http://" + opsAddr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return metricsText(raw)
}

// buckets is the histogram named; a zero histogram when it is not there,
// which fails the benchmark if required.
func (t metricsText) buckets(b *testing.B, name string, required bool) histogram {
	b.Helper()
	var h histogram
	prefix := name + `_bucket{le="`
	for _, line := range strings.Split(string(t), "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		bound, value, _ := strings.Cut(rest, `"} `)
		le, err := strconv.ParseFloat(bound, 64)
		if bound == "+Inf" {
			le, err = math.Inf(1), nil
		}
		n, err2 := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || err2 != nil {
			b.Fatalf("metrics line %q", line)
		}
		h.le, h.counts = append(h.le, le), append(h.counts, n)
	}
	if len(h.le) == 0 && required {
		b.Fatalf("the video process exports no %s", name)
	}
	return h
}

// counter is the value of the counter named, if exported.
func (t metricsText) counter(name string) (float64, bool) {
	for _, line := range strings.Split(string(t), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

func (h histogram) minus(o histogram) histogram {
	out := histogram{le: h.le, counts: make([]float64, len(h.counts))}
	for i := range h.counts {
		out.counts[i] = h.counts[i] - o.counts[i]
	}
	return out
}

func (h histogram) count() int { return int(h.counts[len(h.counts)-1]) }

// bound is a quantile as the upper bound of its bucket; beyond the last
// finite bucket it says so.
type bound struct {
	d    time.Duration
	over bool // beyond d, the largest finite bound
}

func (b bound) String() string {
	if b.over {
		return "> " + b.d.String()
	}
	return b.d.String()
}

// quantile is the upper bound of the bucket holding quantile q.
func (h histogram) quantile(q float64) bound {
	total := h.counts[len(h.counts)-1]
	for i, c := range h.counts {
		if c >= q*total {
			if math.IsInf(h.le[i], 1) {
				return bound{d: time.Duration(h.le[i-1] * float64(time.Second)), over: true}
			}
			return bound{d: time.Duration(h.le[i] * float64(time.Second))}
		}
	}
	return bound{}
}

// retry calls f until it succeeds (a process still starting), bounded.
func retry(b *testing.B, what string, f func() error) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTicks = 100

// cpuTicks is the process's user+system time so far, in clock ticks.
func cpuTicks(b *testing.B, pid int) int64 {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) in ")".
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return utime + stime
}

// runnableWait is the time the process's threads have spent runnable but
// waiting for a CPU (the second field of each thread's schedstat, summed):
// on a shared machine, how much of a latency tail is other work's. Threads
// that exited meanwhile are left out.
func runnableWait(pid int) time.Duration {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var sum time.Duration
	for _, t := range tasks {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(raw)); len(f) >= 2 {
			ns, _ := strconv.ParseInt(f[1], 10, 64)
			sum += time.Duration(ns)
		}
	}
	return sum
}

// residentMemory is the process's VmRSS as /proc prints it ("123456 kB").
func residentMemory(pid int) string {
	raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
