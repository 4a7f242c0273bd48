// Package collect receives flow exports over UDP (and IPFIX over TCP), hands
// each datagram to the decoder of its protocol and passes the decoded flows,
// in batches, to the next stage (enrichment, then storage and outputs).
package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/flowlake/flowlake/internal/flow"
)

// Dependencies are what a Collector needs besides its Config.
type Dependencies struct {
	// Decoder decodes every datagram (usually Decoders.Mux()).
	Decoder flow.Decoder
	// Handle receives each batch, from one goroutine at a time, in the order
	// batches were completed. It must not keep d after returning.
	Handle func(d *flow.Decoded)
	// Registerer receives the collector's metrics (nil: not registered).
	Registerer prometheus.Registerer
	// Logger receives errors (rate-limited per exporter); default slog.Default().
	Logger *slog.Logger
}

// Collector owns the listening sockets. It is a component: Start binds
// them and receives; Stop closes them and returns once every batch decoded
// before has been handed to Handle.
type Collector struct {
	cfg     Config
	deps    Dependencies
	log     *slog.Logger
	udp     []*net.UDPConn
	tcp     []*net.TCPListener
	m       *metrics
	batches chan *flow.Decoded
	// free holds emptied batches for reuse. Unlike a sync.Pool it survives
	// garbage collections, so batches keep the capacity they grew to and
	// decoding does not re-grow ~70 columns after every GC.
	free   chan *flow.Decoded
	errLog errLimiter

	sockets int // SO_REUSEPORT sockets per UDP address
	cancel  context.CancelFunc
	handled chan struct{} // closed when the handler loop has ended
}

// New checks cfg and registers the collector's metrics; the sockets are
// opened by Start.
func New(cfg Config, deps Dependencies) (*Collector, error) {
	if deps.Decoder == nil || deps.Handle == nil {
		return nil, errors.New("collect: Decoder and Handle are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	sockets := cfg.SocketsPerPort
	if sockets == 0 {
		sockets = runtime.NumCPU()
	}
	queue := 4*sockets*max(1, len(cfg.UDP)) + 4
	c := &Collector{cfg: cfg, deps: deps, log: deps.Logger, sockets: sockets,
		batches: make(chan *flow.Decoded, queue), free: make(chan *flow.Decoded, queue+8)}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.m = newMetrics(c)
	if deps.Registerer != nil {
		if err := deps.Registerer.Register(c.m); err != nil {
			return nil, fmt.Errorf("collect: metrics: %w", err)
		}
	}
	return c, nil
}

// Start opens every listener, so that a port already taken fails
// start-up, then receives in the background.
func (c *Collector) Start() error {
	if c.handled != nil {
		return errors.New("collect: started twice")
	}
	for _, addr := range c.cfg.UDP {
		// The first socket picks the port when addr says :0; the others
		// join it.
		bind := addr
		for i := 0; i < c.sockets; i++ {
			conn, err := listenUDP(bind, c.cfg.ReceiveBuffer)
			if err != nil {
				c.closeListeners()
				return fmt.Errorf("collect: udp %s: %w", addr, err)
			}
			c.udp = append(c.udp, conn)
			bind = conn.LocalAddr().String()
		}
	}
	for _, addr := range c.cfg.TCP {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			c.closeListeners()
			return fmt.Errorf("collect: tcp %s: %w", addr, err)
		}
		c.tcp = append(c.tcp, ln.(*net.TCPListener))
	}
	for _, a := range c.UDPAddrs() {
		c.log.Info("listening", "proto", "udp", "addr", a.String())
	}
	for _, a := range c.TCPAddrs() {
		c.log.Info("listening", "proto", "tcp (ipfix)", "addr", a.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.handled = cancel, make(chan struct{})
	go c.run(ctx)
	return nil
}

func listenUDP(addr string, rcvbuf int) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(network, address string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			if serr != nil {
				return
			}
			// SO_RCVBUFFORCE passes net.core.rmem_max when privileged;
			// otherwise the plain option is capped by it.
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf) != nil {
				_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp", addr)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// UDPAddrs returns the bound UDP addresses, one per configured address.
func (c *Collector) UDPAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	seen := map[netip.AddrPort]bool{}
	for _, conn := range c.udp {
		ap := conn.LocalAddr().(*net.UDPAddr).AddrPort()
		if !seen[ap] {
			seen[ap] = true
			out = append(out, ap)
		}
	}
	return out
}

// TCPAddrs returns the bound TCP addresses.
func (c *Collector) TCPAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, ln := range c.tcp {
		out = append(out, ln.Addr().(*net.TCPAddr).AddrPort())
	}
	return out
}

// closeListeners closes every listener: the receivers return soon after.
func (c *Collector) closeListeners() {
	for _, conn := range c.udp {
		_ = conn.Close()
	}
	for _, ln := range c.tcp {
		_ = ln.Close()
	}
}

// Stop closes the listeners and returns once what was decoded has been
// handed to Handle.
func (c *Collector) Stop() error {
	if c.handled == nil {
		return nil
	}
	c.cancel()
	<-c.handled
	return nil
}

// run receives until ctx is done, then hands on what was decoded. Handle
// is called from run's own goroutine.
func (c *Collector) run(ctx context.Context) {
	defer close(c.handled)
	var recv sync.WaitGroup
	for _, conn := range c.udp {
		recv.Add(1)
		go func() { defer recv.Done(); c.receiveUDP(ctx, conn) }()
	}
	for _, ln := range c.tcp {
		recv.Add(1)
		go func() { defer recv.Done(); c.acceptTCP(ctx, ln) }()
	}
	go func() {
		<-ctx.Done()
		c.closeListeners()
	}()
	go func() { recv.Wait(); close(c.batches) }()
	for d := range c.batches {
		c.deps.Handle(d)
		c.m.batches.Inc()
		d.Reset()
		select {
		case c.free <- d:
		default:
		}
	}
}

// hand passes a batch on; when the handler falls behind, receivers block and
// the kernel buffer absorbs (and, past it, counts) the excess.
func (c *Collector) hand(d *flow.Decoded) *flow.Decoded {
	if d.Flows.Len() == 0 && len(d.Counters) == 0 && len(d.Interfaces) == 0 {
		return d
	}
	c.m.flows.Add(float64(d.Flows.Len()))
	c.batches <- d
	return c.get()
}

// get returns an empty batch, reused when one is free.
func (c *Collector) get() *flow.Decoded {
	select {
	case d := <-c.free:
		return d
	default:
		return new(flow.Decoded)
	}
}

func (c *Collector) receiveUDP(ctx context.Context, conn *net.UDPConn) {
	pc := ipv4.NewPacketConn(conn)
	msgs := make([]ipv4.Message, c.cfg.ReadBatch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 65536)}
	}
	cur := c.get()
	var first time.Time
	tick := min(c.cfg.BatchDelay, 200*time.Millisecond)
	for ctx.Err() == nil {
		_ = conn.SetReadDeadline(time.Now().Add(tick))
		n, err := pc.ReadBatch(msgs, 0)
		now := time.Now()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				if !first.IsZero() && now.Sub(first) >= c.cfg.BatchDelay {
					cur, first = c.hand(cur), time.Time{}
				}
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				break
			}
			c.log.Error("udp receive", "addr", conn.LocalAddr(), "err", err)
			continue
		}
		for i := 0; i < n; i++ {
			m := &msgs[i]
			ua, ok := m.Addr.(*net.UDPAddr)
			if !ok {
				continue
			}
			c.datagram(m.Buffers[0][:m.N], ua.AddrPort(), now, cur)
		}
		if first.IsZero() {
			first = now
		}
		if cur.Flows.Len() >= c.cfg.BatchRows || now.Sub(first) >= c.cfg.BatchDelay {
			cur, first = c.hand(cur), time.Time{}
		}
	}
	c.hand(cur)
}

// datagram decodes one datagram into cur, counting it.
func (c *Collector) datagram(pkt []byte, from netip.AddrPort, now time.Time, cur *flow.Decoded) {
	c.m.datagrams.Inc()
	c.m.bytes.Add(float64(len(pkt)))
	if err := c.deps.Decoder.Decode(pkt, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), now, cur); err != nil {
		c.m.errors.Inc()
		if c.errLog.allow(from.Addr(), now) {
			c.log.Warn("decode", "exporter", from, "err", err)
		}
	}
}

// errLimiter logs at most one decode error per exporter per minute, so a
// broken exporter cannot flood the log.
type errLimiter struct {
	mu   sync.Mutex
	last map[netip.Addr]time.Time
}

func (l *errLimiter) allow(a netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil || len(l.last) > 10000 {
		l.last = map[netip.Addr]time.Time{}
	}
	if now.Sub(l.last[a]) < time.Minute {
		return false
	}
	l.last[a] = now
	return true
}

// isClosed reports whether err comes from a closed listener.
func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed)
}
