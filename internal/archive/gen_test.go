package archive

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

// flowGen makes synthetic flows shaped like what a collector decodes from
// a real exporter fed with bench/cmd/gen's traffic, because bytes per flow
// depend on the data far more than on the writer:
//   - connections between Zipf-popular internal clients (10/8 and
//     2001:db8:1::/48) and per-service pools of Zipf-popular external
//     servers, with bench/cmd/gen's service mix (443/tcp, 53/udp, QUIC,
//     80/tcp, NTP, SSH, mail, databases, P2P, ICMP);
//   - two records per connection (client→server and server→client,
//     exported together), except unanswered probes;
//   - time_received shared by the ~30 records of one export packet, packets
//     arriving in Poisson bursts; time_start/time_end with the exporter's
//     millisecond resolution, ending before the export;
//   - heavy-tailed packet counts, MTU-sized packets downstream and small
//     ones upstream (byte counts are then mostly multiples of full packets);
//   - cumulative TCP flags, a few exporters and interfaces, geo/AS/service
//     enrichment for the external side only; every other column is zero,
//     as in real NetFlow/IPFIX where most optional fields are absent.
type flowGen struct {
	rng     *rand.Rand
	cliZipf *rand.Zipf
	t       int64   // time_received of the current export packet
	gap     float64 // mean ns between export packets
	inPkt   int     // records left in the current export packet
	hosts   []flow.Addr
	pools   [][]flow.Addr // servers, by service
	srvZipf []*rand.Zipf
	cum     []float64 // cumulative service weights
	pending bool      // the reverse record of the last connection is due
	last    genConn
}

type genService struct {
	name   string
	proto  uint8
	port   uint16 // 0: random high port (P2P)
	weight float64
	pool   int
}

var genServices = []genService{
	{"https", 6, 443, 40, 4000},
	{"http", 6, 80, 8, 2000},
	{"domain", 17, 53, 16, 20},
	{"https", 17, 443, 9, 800}, // QUIC
	{"ntp", 17, 123, 2, 20},
	{"ssh", 6, 22, 1, 200},
	{"smtp", 6, 25, 1, 100},
	{"imaps", 6, 993, 1.5, 100},
	{"mysql", 6, 3306, 1, 50},
	{"postgresql", 6, 5432, 1, 50},
	{"http-alt", 6, 8080, 2, 300},
	{"", 6, 0, 2, 2000},  // P2P TCP
	{"", 17, 0, 2, 2000}, // P2P UDP
	{"", 1, 0, 1, 500},   // ICMP echo
}

var (
	genCountries = []string{"US", "US", "US", "DE", "FR", "GB", "NL", "JP", "CN", "BR", "IN", "IE", "SG", ""}
	genASNames   = []string{"GOOGLE", "AMAZON-02", "CLOUDFLARENET", "MICROSOFT-CORP-MSN-AS-BLOCK", "FACEBOOK", "AKAMAI-AS", "OVH", "HETZNER-AS", "FASTLY", ""}
)

// genConn is one connection as the exporter reports it.
type genConn struct {
	cli, srv       flow.Addr
	cport, sport   uint16
	proto          uint8
	svc            string
	start, end     int64 // ms-truncated, ns
	fwdPk, revPk   uint64
	fwdB, revB     uint64
	fwdFl, revFl   uint16
	exporter, inIf uint8
	answered       bool
}

func newFlowGen(seed uint64, start time.Time, flowsPerSec float64) *flowGen {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &flowGen{
		rng: rng,
		t:   start.UnixNano(),
		gap: 30 * float64(time.Second) / flowsPerSec,
	}
	for i := range 50000 {
		if i%10 == 9 {
			var a flow.Addr
			a[0], a[1], a[2], a[3], a[5] = 0x20, 0x01, 0x0d, 0xb8, 0x01
			a[7] = byte(rng.IntN(256))
			for j := 8; j < 16; j++ {
				a[j] = byte(rng.IntN(256))
			}
			g.hosts = append(g.hosts, a)
		} else {
			g.hosts = append(g.hosts, flow.AddrFromUint32(0x0a000000|uint32(rng.IntN(1<<22))))
		}
	}
	g.cliZipf = rand.NewZipf(rng, 1.05, 20, uint64(len(g.hosts)-1))
	var w float64
	for _, s := range genServices {
		pool := make([]flow.Addr, s.pool)
		for i := range pool {
			pool[i] = flow.AddrFromUint32(uint32(1+rng.IntN(222))<<24 | uint32(rng.IntN(1<<24)))
		}
		g.pools = append(g.pools, pool)
		g.srvZipf = append(g.srvZipf, rand.NewZipf(rng, 1.15, 2, uint64(s.pool-1)))
		w += s.weight
		g.cum = append(g.cum, w)
	}
	return g
}

// dataPkts is bench/cmd/gen's heavy-tailed packet count mixture.
func (g *flowGen) dataPkts() uint64 {
	r := g.rng
	logu := func(a, b float64) uint64 {
		return uint64(math.Exp(math.Log(a) + r.Float64()*(math.Log(b)-math.Log(a))))
	}
	switch x := r.Float64(); {
	case x < 0.70:
		return uint64(1 + r.IntN(4))
	case x < 0.95:
		return logu(5, 30)
	case x < 0.997:
		return logu(30, 300)
	default:
		return logu(300, 3000)
	}
}

func (g *flowGen) newConn() genConn {
	r := g.rng
	x := r.Float64() * g.cum[len(g.cum)-1]
	si := 0
	for g.cum[si] < x {
		si++
	}
	s := genServices[si]
	c := genConn{
		cli:      g.hosts[g.cliZipf.Uint64()],
		srv:      g.pools[si][g.srvZipf[si].Uint64()],
		proto:    s.proto,
		svc:      s.name,
		sport:    s.port,
		cport:    uint16(32768 + r.IntN(28232)),
		exporter: uint8(r.IntN(4)),
		answered: true,
	}
	if !c.cli.Is4() {
		// An IPv6 client talks to the IPv6 twin of the server.
		v4 := c.srv
		c.srv = flow.Addr{0x20, 0x01, 0x0d, 0xb8, 0x80 | v4[12]&0x7f, v4[13], v4[14], v4[15]}
		c.srv[15] = 1
	}
	if c.sport == 0 && c.proto != 1 {
		c.sport = uint16(1024 + r.IntN(60000))
	}
	c.inIf = uint8(1 + int(c.cli[13])%4)
	data := g.dataPkts()
	const mtu, ack = 1500, 52
	tail := func() uint64 { return uint64(60 + r.IntN(1440)) }
	switch {
	case c.proto == 1:
		c.cport, c.sport = 0, 8<<8 // echo request; the reply is type 0
		c.fwdPk = uint64(1 + r.IntN(4))
		c.revPk, c.fwdB = c.fwdPk, c.fwdPk*84
		c.revB = c.fwdB
	case c.proto == 17 && (c.sport == 53 || c.sport == 123):
		c.fwdPk, c.revPk = 1, 1
		c.fwdB = uint64(60 + r.IntN(40))
		c.revB = uint64(76 + r.IntN(400))
		if c.sport == 123 {
			c.fwdB, c.revB = 76, 76
		}
		c.answered = r.Float64() > 0.03
	case c.proto == 17:
		c.fwdPk, c.revPk = data/5+1, data
		c.fwdB = c.fwdPk*uint64(60+r.IntN(100)) + tail()
		c.revB = (c.revPk-1)*1250 + tail()
	default: // TCP: handshake, data mostly downstream, FIN teardown
		down := data * 4 / 5
		c.fwdPk = 3 + (data - down) + down/2
		c.revPk = 2 + down
		c.fwdB = c.fwdPk*ack + (data-down)*uint64(r.IntN(500)) + tail()
		c.revB = 2*ack + down*mtu
		if down > 0 {
			c.revB = c.revB - mtu + tail()
		}
		c.fwdFl, c.revFl = 0x1b, 0x1b
		switch x := r.Float64(); {
		case x < 0.04: // unanswered SYN
			c.fwdPk, c.fwdB, c.fwdFl = 1+uint64(r.IntN(3)), 60, 0x02
			c.answered = false
		case x < 0.10: // reset by the server
			c.revFl = 0x16
		case x < 0.25: // still open at export
			c.fwdFl, c.revFl = 0x1a, 0x1a
		}
	}
	// Active flows end shortly before they are exported; their length
	// grows with their packet count (bench/cmd/gen's lognormal gaps).
	gapMs := math.Min(math.Exp(math.Log(20)+1.2*r.NormFloat64()), 2000)
	dur := int64(float64(max(c.fwdPk, c.revPk)-1) * gapMs)
	dur = min(dur, 400_000)
	c.end = (g.t - int64(r.ExpFloat64()*2000)*int64(time.Millisecond)) / 1e6 * 1e6
	c.start = c.end - dur*int64(time.Millisecond)
	return c
}

// fill appends n flows to b.
func (g *flowGen) fill(b *flow.Batch, n int) {
	first := b.Extend(n)
	for i := first; i < first+n; i++ {
		if g.inPkt == 0 {
			// Export packets of ~30 records; Poisson arrivals, so bursts.
			g.t += int64(g.rng.ExpFloat64() * g.gap)
			g.inPkt = 30
		}
		g.inPkt--
		c := &g.last
		fwd := !g.pending
		if fwd {
			*c = g.newConn()
			g.pending = c.answered
		} else {
			g.pending = false
		}
		b.TimeReceived[i] = g.t
		b.TimeStart[i], b.TimeEnd[i] = c.start, c.end
		b.SourceType[i] = flow.SourceTypeIpfix
		b.ExporterAddr[i] = flow.AddrFromUint32(0xc0000201 + uint32(c.exporter))
		b.ExporterName[i] = "edge-" + string(rune('a'+c.exporter))
		b.ObservationDomain[i] = 1
		b.Proto[i] = c.proto
		if c.cli.Is4() {
			b.IPVersion[i] = 4
		} else {
			b.IPVersion[i] = 6
		}
		srvCountry := genCountries[int(c.srv[14])%len(genCountries)]
		srvAS := genASNames[int(c.srv[13])%len(genASNames)]
		if fwd {
			b.SrcAddr[i], b.DstAddr[i] = c.cli, c.srv
			b.SrcPort[i], b.DstPort[i] = c.cport, c.sport
			b.Packets[i], b.Bytes[i], b.TCPFlags[i] = c.fwdPk, c.fwdB, c.fwdFl
			b.InIf[i], b.OutIf[i] = uint32(c.inIf), 10
			b.DstCountry[i], b.DstASName[i] = srvCountry, srvAS
			b.FlowType[i] = flow.FlowTypeToInternet
		} else {
			b.SrcAddr[i], b.DstAddr[i] = c.srv, c.cli
			b.SrcPort[i], b.DstPort[i] = c.sport, c.cport
			if c.proto == 1 {
				b.SrcPort[i] = 0
			}
			b.Packets[i], b.Bytes[i], b.TCPFlags[i] = c.revPk, c.revB, c.revFl
			b.InIf[i], b.OutIf[i] = 10, uint32(c.inIf)
			b.SrcCountry[i], b.SrcASName[i] = srvCountry, srvAS
			b.FlowType[i] = flow.FlowTypeFromInternet
		}
		b.Direction[i] = flow.DirectionIngress
		b.FlowState[i] = flow.FlowStateEnd
		b.Service[i] = c.svc
	}
}

// genBatch returns n flows starting at start.
func genBatch(seed uint64, start time.Time, n int, flowsPerSec float64) *flow.Batch {
	b := new(flow.Batch)
	newFlowGen(seed, start, flowsPerSec).fill(b, n)
	return b
}
