package testenv_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ecabinet/ecabinet/services/platform/natsjs"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

func TestConsumerReadsTheStreamInOrder(t *testing.T) {
	_, js := testenv.JetStream(t)
	prefix := testenv.Prefix(t)
	cfg := natsjs.ServiceStream(prefix, "video")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := natsjs.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	subjects := []string{prefix + "ecabinet.video.v1.m1.room_opened", prefix + "ecabinet.video.v1.m1.room_closed"}
	for _, s := range subjects {
		if _, err := js.Publish(ctx, s, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}

	c := testenv.Consumer(t, js, cfg.Name)
	for _, want := range subjects {
		if got := testenv.Next(t, c).Subject(); got != want {
			t.Errorf("next message on %s, want %s", got, want)
		}
	}
	if n := testenv.StreamMsgs(t, js, cfg.Name); n != 2 {
		t.Errorf("StreamMsgs = %d, want 2", n)
	}
	if msg := fatalOf(t, func(tb testing.TB) { testenv.StreamMsgs(tb, js, cfg.Name+"_NONE") }); !strings.Contains(msg, cfg.Name+"_NONE") {
		t.Errorf("StreamMsgs of a missing stream failed with %q", msg)
	}
}
