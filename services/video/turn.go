package video

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/pion/turn/v5"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
)

// turnRealm is the realm of the built-in TURN server's credentials.
const turnRealm = "ecabinet"

// relay is the built-in TURN server: for offices whose firewalls block the
// media port (or all UDP), a client relays through it over UDP or TCP on
// one port. It relays only to the SFU's own media addresses, so it cannot
// be used to reach anything else on the network.
type relay struct {
	srv    *turn.Server
	secret string
	ttl    time.Duration
	urls   []string
}

// startRelay starts the TURN server when cfg asks for one (nil otherwise).
// sfu lists the addresses the SFU's ICE listens on.
func startRelay(cfg Config, sfu []net.Addr) (*relay, error) {
	if cfg.TURNAddr == "" {
		return nil, nil
	}
	host, portStr, err := net.SplitHostPort(cfg.TURNAddr)
	if err != nil {
		return nil, fmt.Errorf("VIDEO_TURN_ADDR: %w", err)
	}
	ip := net.ParseIP(host)
	udp, tcp, portStr, err := listenBoth(host, portStr)
	if err != nil {
		return nil, err
	}
	var sfuAddrs []*net.UDPAddr
	for _, a := range sfu {
		if u, ok := a.(*net.UDPAddr); ok {
			sfuAddrs = append(sfuAddrs, u)
		}
	}
	// TURN permissions name an IP only; the relayed sockets below also
	// check the port, so nothing else on the SFU's host is reachable.
	onlyTheSFU := func(_ net.Addr, peer net.IP) bool {
		return slices.ContainsFunc(sfuAddrs, func(u *net.UDPAddr) bool { return u.IP.Equal(peer) })
	}
	isSFU := func(a net.Addr) bool {
		u, ok := a.(*net.UDPAddr)
		return ok && slices.ContainsFunc(sfuAddrs, func(s *net.UDPAddr) bool { return s.IP.Equal(u.IP) && s.Port == u.Port })
	}
	gen := sfuOnlyRelays{RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: ip, Address: ip.String()}, allowed: isSFU}
	secret := cfg.TURNSecret
	if secret == "" {
		// One node: credentials it issued are checked by itself, so a
		// secret of its own lifetime will do.
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		secret = base64.StdEncoding.EncodeToString(b)
	}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm:             turnRealm,
		AuthHandler:       turn.LongTermTURNRESTAuthHandler(secret, nil),
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: udp, RelayAddressGenerator: gen, PermissionHandler: onlyTheSFU}},
		ListenerConfigs:   []turn.ListenerConfig{{Listener: tcp, RelayAddressGenerator: gen, PermissionHandler: onlyTheSFU}},
	})
	if err != nil {
		_, _ = udp.Close(), tcp.Close()
		return nil, fmt.Errorf("TURN server: %w", err)
	}
	// Clients reach the TURN server where they reach the service; the
	// relay itself talks to the SFU on the local address.
	public := host
	if cfg.PublicIP != "" {
		public = cfg.PublicIP
	}
	hostPort := net.JoinHostPort(public, portStr)
	return &relay{srv: srv, secret: secret, ttl: cfg.TURNCredentialTTL, urls: []string{
		"turn:" + hostPort + "?transport=udp",
		"turn:" + hostPort + "?transport=tcp",
	}}, nil
}

// credentials are time-limited TURN credentials for person (the TURN REST
// API form: the username carries the expiry, the password is its HMAC).
func (r *relay) credentials(person string, ttl time.Duration) (*videov1.IceServer, error) {
	user, pass, err := turn.GenerateLongTermTURNRESTCredentials(r.secret, person, ttl)
	if err != nil {
		return nil, err
	}
	return &videov1.IceServer{Urls: r.urls, Username: user, Credential: pass}, nil
}

func (r *relay) close() { _ = r.srv.Close() }

// listenBoth opens UDP and TCP on one port. Port 0 (tests) takes a free
// UDP port and TCP on the same number, trying again when that TCP port is
// taken.
func listenBoth(host, port string) (net.PacketConn, net.Listener, string, error) {
	for attempt := 0; ; attempt++ {
		udp, err := net.ListenPacket("udp", net.JoinHostPort(host, port))
		if err != nil {
			return nil, nil, "", fmt.Errorf("VIDEO_TURN_ADDR: %w", err)
		}
		p := port
		if port == "0" {
			p = strconv.Itoa(udp.LocalAddr().(*net.UDPAddr).Port)
		}
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, p))
		if err == nil {
			return udp, tcp, p, nil
		}
		_ = udp.Close()
		if port != "0" || attempt >= 20 {
			return nil, nil, "", fmt.Errorf("VIDEO_TURN_ADDR (TCP): %w", err)
		}
	}
}

// sfuOnlyRelays hands out relayed sockets that carry packets to and from
// the SFU's media addresses only (IP and port).
type sfuOnlyRelays struct {
	turn.RelayAddressGenerator
	allowed func(net.Addr) bool
}

func (g sfuOnlyRelays) AllocatePacketConn(cfg turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	conn, addr, err := g.RelayAddressGenerator.AllocatePacketConn(cfg)
	if err != nil {
		return nil, nil, err
	}
	return sfuOnlyConn{PacketConn: conn, allowed: g.allowed}, addr, nil
}

// sfuOnlyConn drops what a client sends anywhere but the SFU, and what
// anyone but the SFU sends to the relayed address.
type sfuOnlyConn struct {
	net.PacketConn
	allowed func(net.Addr) bool
}

func (c sfuOnlyConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if !c.allowed(addr) {
		return len(p), nil // dropped, as a firewall would
	}
	return c.PacketConn.WriteTo(p, addr)
}

func (c sfuOnlyConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil || c.allowed(addr) {
			return n, addr, err
		}
	}
}
