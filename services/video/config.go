package video

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the video service's own settings (environment variables in
// docs/adr/0001; the choices behind them in docs/adr/0004).
type Config struct {
	// UDPAddr is the one UDP address every peer connection's ICE uses (a
	// UDP mux). A specific IP gives one host candidate on it; an
	// unspecified one (":7882", "0.0.0.0:7882") binds that port on every
	// local address inside ICENetworks. Port 0 picks a free port (tests).
	UDPAddr string `env:"VIDEO_UDP_ADDR" envDefault:"127.0.0.1:0"`
	// ICENetworks are the CIDRs ICE may use, for the addresses the service
	// offers and for the client addresses it will send to. The default
	// keeps media on loopback, so a development machine sends nothing
	// anywhere else; a deployment lists its office networks.
	ICENetworks []string `env:"VIDEO_ICE_NETWORKS" envDefault:"127.0.0.0/8,::1/128"`
	// MaxRooms bounds the rooms with someone in them at once on this node;
	// MaxParticipants bounds each room. Beyond them a join is refused with
	// RESOURCE_EXHAUSTED.
	MaxRooms        int `env:"VIDEO_MAX_ROOMS" envDefault:"50"`
	MaxParticipants int `env:"VIDEO_MAX_PARTICIPANTS" envDefault:"100"`
	// JoinTokenTTL is how long a join token may be presented.
	JoinTokenTTL time.Duration `env:"VIDEO_JOIN_TOKEN_TTL" envDefault:"2m"`
	// OfferTimeout is how long the service waits for the answer to an
	// offer it sent before it drops the connection.
	OfferTimeout time.Duration `env:"VIDEO_OFFER_TIMEOUT" envDefault:"15s"`
	// JoinTimeout is how long a signaling session may stay open without
	// its first message (join) before it is closed.
	JoinTimeout time.Duration `env:"VIDEO_JOIN_TIMEOUT" envDefault:"10s"`
	// ResumeGrace is how long a participant whose signaling connection
	// broke keeps its seat (and media) for a resume, and how long one whose
	// media connection failed keeps it for an ICE restart.
	ResumeGrace time.Duration `env:"VIDEO_RESUME_GRACE" envDefault:"20s"`
	// PublicIP is the address clients reach the service at when it sits
	// behind a one-to-one NAT (a container's published ports, a cloud
	// instance's public address): the host candidates it offers, and the
	// TURN URLs it hands out, carry it instead of the local address. Empty:
	// the local address, reachable as it is.
	PublicIP string `env:"VIDEO_PUBLIC_IP"`
	// TURNAddr is where the built-in TURN server listens, UDP and TCP on
	// one port (a specific IP inside ICENetworks, which is also the relay
	// address); empty: no TURN server.
	TURNAddr string `env:"VIDEO_TURN_ADDR"`
	// TURNSecret signs TURN credentials; empty: a random secret for the
	// life of the process (one node).
	TURNSecret string `env:"VIDEO_TURN_SECRET"`
	// TURNCredentialTTL is how long TURN credentials last. They must
	// outlive a meeting: the client refreshes its allocation with them.
	TURNCredentialTTL time.Duration `env:"VIDEO_TURN_TTL" envDefault:"4h"`
	// RecordingDir holds recordings (a directory per meeting and
	// recording); empty: ecabinet-recordings in the system's temporary
	// directory.
	RecordingDir string `env:"VIDEO_RECORDING_DIR"`
}

// Defaults for a zero Config field (tests build Config by hand).
const (
	defaultMaxRooms        = 50
	defaultMaxParticipants = 100
	defaultJoinTokenTTL    = 2 * time.Minute
	defaultOfferTimeout    = 15 * time.Second
	defaultResumeGrace     = 20 * time.Second
	defaultJoinTimeout     = 10 * time.Second
	// defaultTURNCredentialTTL: a long meeting.
	defaultTURNCredentialTTL = 4 * time.Hour
)

func (c Config) withDefaults() Config {
	if c.UDPAddr == "" {
		c.UDPAddr = "127.0.0.1:0"
	}
	if len(c.ICENetworks) == 0 {
		c.ICENetworks = []string{"127.0.0.0/8", "::1/128"}
	}
	if c.MaxRooms <= 0 {
		c.MaxRooms = defaultMaxRooms
	}
	if c.MaxParticipants <= 0 {
		c.MaxParticipants = defaultMaxParticipants
	}
	if c.JoinTokenTTL <= 0 {
		c.JoinTokenTTL = defaultJoinTokenTTL
	}
	if c.OfferTimeout <= 0 {
		c.OfferTimeout = defaultOfferTimeout
	}
	if c.JoinTimeout <= 0 {
		c.JoinTimeout = defaultJoinTimeout
	}
	if c.ResumeGrace <= 0 {
		c.ResumeGrace = defaultResumeGrace
	}
	if c.TURNCredentialTTL <= 0 {
		c.TURNCredentialTTL = defaultTURNCredentialTTL
	}
	if c.RecordingDir == "" {
		c.RecordingDir = filepath.Join(os.TempDir(), "ecabinet-recordings")
	}
	return c
}

// Check reports malformed or contradictory ICE settings, so the process
// stops at start naming the variable rather than when the first person
// joins.
func (c Config) Check() error {
	_, _, _, err := c.withDefaults().parse()
	return err
}

// parse reads ICENetworks and UDPAddr; ip is nil for an empty host.
func (c Config) parse() (nets networks, ip net.IP, port int, err error) {
	nets, err = parseNetworks(c.ICENetworks)
	if err != nil {
		return nil, nil, 0, err
	}
	host, portStr, err := net.SplitHostPort(c.UDPAddr)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("VIDEO_UDP_ADDR: %w", err)
	}
	p, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("VIDEO_UDP_ADDR: port %q is not a port number", portStr)
	}
	ip = net.ParseIP(host)
	if host != "" && ip == nil {
		return nil, nil, 0, fmt.Errorf("VIDEO_UDP_ADDR: %q is not an IP address", host)
	}
	if ip != nil && !ip.IsUnspecified() && !nets.allows(ip) {
		return nil, nil, 0, fmt.Errorf("VIDEO_UDP_ADDR: %s is outside VIDEO_ICE_NETWORKS %v", ip, c.ICENetworks)
	}
	if c.PublicIP != "" {
		pip := net.ParseIP(c.PublicIP)
		if pip == nil || pip.IsUnspecified() || pip.IsMulticast() {
			return nil, nil, 0, fmt.Errorf("VIDEO_PUBLIC_IP: %q must be one unicast IP address (where clients reach this service)", c.PublicIP)
		}
	}
	if c.TURNAddr != "" {
		th, tp, err := net.SplitHostPort(c.TURNAddr)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("VIDEO_TURN_ADDR: %w", err)
		}
		if _, err := strconv.ParseUint(tp, 10, 16); err != nil {
			return nil, nil, 0, fmt.Errorf("VIDEO_TURN_ADDR: port %q is not a port number", tp)
		}
		tip := net.ParseIP(th)
		if tip == nil || tip.IsUnspecified() || !nets.allows(tip) {
			return nil, nil, 0, fmt.Errorf("VIDEO_TURN_ADDR: %q must be an IP address inside VIDEO_ICE_NETWORKS (it is the relay address)", th)
		}
	}
	return nets, ip, int(p), nil
}

// networks is the parsed ICENetworks.
type networks []netip.Prefix

func parseNetworks(cidrs []string) (networks, error) {
	var out networks
	var errs []error
	for _, s := range cidrs {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("VIDEO_ICE_NETWORKS: %q is not a CIDR", s))
			continue
		}
		out = append(out, p.Masked())
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("VIDEO_ICE_NETWORKS: lists no network"))
	}
	return out, errors.Join(errs...)
}

// allows reports whether ip is inside one of the networks.
func (n networks) allows(ip net.IP) bool {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	a = a.Unmap()
	for _, p := range n {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// includesLoopback reports whether a loopback address is allowed, in which
// case ICE must be told to gather loopback candidates (it leaves them out
// by default).
func (n networks) includesLoopback() bool {
	return n.allows(net.IPv4(127, 0, 0, 1)) || n.allows(net.IPv6loopback)
}
