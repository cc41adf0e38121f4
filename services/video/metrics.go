package video

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the SFU's own figures, on the process's /metrics.
type metrics struct {
	// forward is the time from reading a publisher's packet to having
	// written it to every subscriber (queued, then written by each one's
	// writer): what the SFU adds for the last of them (benchmark
	// "bridge-point fan-out" reads it).
	forward prometheus.Histogram
	// subscriberDelay is the same per subscriber: one observation per
	// packet and subscriber, from the read to that subscriber's write.
	subscriberDelay prometheus.Histogram
	// dropped counts packets a subscriber lost because its writer's queue
	// was full.
	dropped      prometheus.Counter
	keyframes    prometheus.Counter
	participants prometheus.Gauge
	// layerSwitches counts subscribers moved from one simulcast layer to
	// another (at a keyframe of the new one).
	layerSwitches prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		forward: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ecabinet_video_forward_duration_seconds",
			Help:    "Time from reading a publisher's RTP packet to having written it to every subscriber.",
			Buckets: prometheus.ExponentialBuckets(25e-6, 2, 14), // 25µs … 200ms
		}),
		subscriberDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ecabinet_video_forward_subscriber_delay_seconds",
			Help:    "Time from reading a publisher's RTP packet to having written it to one subscriber (one observation per packet and subscriber).",
			Buckets: prometheus.ExponentialBuckets(25e-6, 2, 14),
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecabinet_video_forward_dropped_packets_total",
			Help: "RTP packets not forwarded to a subscriber because its send queue was full.",
		}),
		keyframes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecabinet_video_keyframe_requests_total",
			Help: "Keyframe requests (PLI) sent to publishers, after de-duplication and throttling.",
		}),
		participants: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ecabinet_video_participants",
			Help: "People connected to a video room on this node.",
		}),
		layerSwitches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecabinet_video_layer_switches_total",
			Help: "Subscribers moved from one simulcast layer of a track to another.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.forward, m.subscriberDelay, m.dropped, m.keyframes, m.participants, m.layerSwitches} {
			if err := reg.Register(c); err != nil {
				// A second service instance in one process (tests) shares
				// the first one's collectors' names; its figures are then
				// not exported, which is fine there.
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					panic(err)
				}
			}
		}
	}
	return m
}
