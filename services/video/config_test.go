package video

import (
	"net"
	"strings"
	"testing"

	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/ecabinet/ecabinet/services/video/videotest"
)

func TestConfigCheck(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" for none; else a substring (the variable)
	}{
		{"defaults", Config{}, ""},
		{"fixed loopback port", Config{UDPAddr: "127.0.0.1:7882"}, ""},
		{"every allowed address", Config{UDPAddr: ":7882", ICENetworks: []string{"10.0.0.0/8", "127.0.0.0/8"}}, ""},
		{"not an address", Config{UDPAddr: "7882"}, "VIDEO_UDP_ADDR"},
		{"not a port", Config{UDPAddr: "127.0.0.1:http"}, "VIDEO_UDP_ADDR"},
		{"host name", Config{UDPAddr: "localhost:7882"}, "VIDEO_UDP_ADDR"},
		{"outside the networks", Config{UDPAddr: "10.1.2.3:7882"}, "outside VIDEO_ICE_NETWORKS"},
		{"bad CIDR", Config{ICENetworks: []string{"127.0.0.0/8", "office"}}, "VIDEO_ICE_NETWORKS"},
		{"empty list", Config{ICENetworks: []string{" "}}, "VIDEO_ICE_NETWORKS"},
		{"TURN on loopback", Config{TURNAddr: "127.0.0.1:3478"}, ""},
		{"TURN on every address", Config{TURNAddr: ":3478"}, "VIDEO_TURN_ADDR"},
		{"TURN outside the networks", Config{TURNAddr: "10.0.0.1:3478"}, "VIDEO_TURN_ADDR"},
		{"TURN without a port", Config{TURNAddr: "127.0.0.1"}, "VIDEO_TURN_ADDR"},
		{"behind a NAT", Config{PublicIP: "203.0.113.7"}, ""},
		{"public host name", Config{PublicIP: "video.example.org"}, "VIDEO_PUBLIC_IP"},
		{"public unspecified", Config{PublicIP: "0.0.0.0"}, "VIDEO_PUBLIC_IP"},
		{"public multicast", Config{PublicIP: "224.0.0.1"}, "VIDEO_PUBLIC_IP"},
	}
	for _, tt := range tests {
		err := tt.cfg.Check()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want one naming %s", tt.name, err, tt.wantErr)
		}
	}
}

func TestNetworksAllow(t *testing.T) {
	n, err := parseNetworks([]string{"127.0.0.0/8", "192.168.1.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{
		"127.0.0.1": true, "127.9.9.9": true, "192.168.1.20": true, "::ffff:127.0.0.1": true,
		"192.168.2.1": false, "10.0.0.1": false, "::1": false, "8.8.8.8": false,
	} {
		if got := n.allows(net.ParseIP(ip)); got != want {
			t.Errorf("allows(%s) = %v, want %v", ip, got, want)
		}
	}
	if !n.includesLoopback() {
		t.Error("127.0.0.0/8 does not count as loopback")
	}
	if only, _ := parseNetworks([]string{"10.0.0.0/8"}); only.includesLoopback() {
		t.Error("10.0.0.0/8 counts as loopback")
	}
}

// An unspecified VIDEO_UDP_ADDR binds only the local addresses inside the
// networks: with loopback networks, loopback only.
func TestEngineBindsOnlyAllowedAddresses(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", ":0"} {
		e, err := startEngine(Config{UDPAddr: addr}.withDefaults(), nil, testenv.Logger(t))
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if len(e.addr) == 0 {
			t.Errorf("%s: listens nowhere", addr)
		}
		for _, a := range e.addr {
			if ip := a.(*net.UDPAddr).IP; !ip.IsLoopback() {
				t.Errorf("%s: listens on %s, outside the loopback networks", addr, ip)
			}
		}
		e.close()
	}
}

// On a network other than the operating system's (a test's vnet) the
// service cannot look for local addresses: VIDEO_UDP_ADDR must name one.
func TestEngineOnAnotherNetworkNeedsAnAddress(t *testing.T) {
	v := videotest.NewVNet(t)
	n, ip := v.Host()
	cfg := Config{UDPAddr: ":0", ICENetworks: []string{videotest.VNetCIDR}}.withDefaults()
	if _, err := startEngine(cfg, n, testenv.Logger(t)); err == nil || !strings.Contains(err.Error(), "VIDEO_UDP_ADDR") {
		t.Fatalf("startEngine on a vnet with %s: %v, want a VIDEO_UDP_ADDR error", cfg.UDPAddr, err)
	}
	cfg.UDPAddr = net.JoinHostPort(ip.String(), "0")
	e, err := startEngine(cfg, n, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	if got := e.addr[0].(*net.UDPAddr).IP; !got.Equal(ip) {
		t.Errorf("listens on %s, want the vnet host's %s", got, ip)
	}
}
