package archive

import (
	"math/rand/v2"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

// flowGen makes realistic synthetic flows: Zipf-distributed hosts (a few
// talk a lot), a handful of service ports, increasing receive times, a few
// exporters and interfaces, and enrichment strings drawn from small sets.
type flowGen struct {
	rng       *rand.Rand
	srcZipf   *rand.Zipf
	dstZipf   *rand.Zipf
	t         int64
	step      int64 // mean nanoseconds between flows
	hosts     []flow.Addr
	servers   []flow.Addr
	countries []string
	asNames   []string
}

var (
	genPorts    = []uint16{443, 443, 443, 80, 53, 53, 22, 123, 3306, 8080, 25, 993}
	genServices = map[uint16]string{443: "https", 80: "http", 53: "domain", 22: "ssh", 123: "ntp", 3306: "mysql", 8080: "http-alt", 25: "smtp", 993: "imaps"}
)

func newFlowGen(seed uint64, start time.Time, flowsPerSec float64) *flowGen {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &flowGen{
		rng:       rng,
		srcZipf:   rand.NewZipf(rng, 1.1, 4, 50000-1),
		dstZipf:   rand.NewZipf(rng, 1.3, 2, 20000-1),
		t:         start.UnixNano(),
		step:      int64(float64(time.Second) / flowsPerSec),
		countries: []string{"US", "DE", "FR", "GB", "NL", "JP", "CN", "BR", "IN", ""},
		asNames:   []string{"GOOGLE", "AMAZON-02", "CLOUDFLARENET", "MICROSOFT-CORP", "FACEBOOK", "AKAMAI", ""},
	}
	for i := range 50000 {
		if i%10 == 9 {
			var a flow.Addr
			a[0], a[1] = 0x20, 0x01
			a[2], a[3] = 0x0d, 0xb8
			a[14], a[15] = byte(i>>8), byte(i)
			g.hosts = append(g.hosts, a)
		} else {
			g.hosts = append(g.hosts, flow.AddrFromUint32(0x0a000000|uint32(rng.IntN(1<<20))))
		}
	}
	for range 20000 {
		g.servers = append(g.servers, flow.AddrFromUint32(rng.Uint32()))
	}
	return g
}

// fill appends n flows to b.
func (g *flowGen) fill(b *flow.Batch, n int) {
	first := b.Extend(n)
	for i := first; i < first+n; i++ {
		g.t += g.rng.Int64N(2*g.step + 1)
		src := g.hosts[g.srcZipf.Uint64()]
		dst := g.servers[g.dstZipf.Uint64()]
		port := genPorts[g.rng.IntN(len(genPorts))]
		b.TimeReceived[i] = g.t
		b.TimeEnd[i] = g.t - int64(g.rng.IntN(1000))*int64(time.Millisecond)
		b.TimeStart[i] = b.TimeEnd[i] - int64(g.rng.IntN(60000))*int64(time.Millisecond)
		b.SourceType[i] = flow.SourceTypeIpfix
		b.ExporterAddr[i] = flow.AddrFromUint32(0xc0000201 + uint32(g.rng.IntN(4)))
		b.ExporterName[i] = "edge-" + string(rune('a'+int(b.ExporterAddr[i][15]&3)))
		b.ObservationDomain[i] = 1
		b.SamplingRate[i] = 1
		if src.Is4() {
			b.IPVersion[i] = 4
		} else {
			b.IPVersion[i] = 6
			dst[0], dst[1], dst[10], dst[11] = 0x20, 0x01, 0, 0
		}
		b.SrcAddr[i], b.DstAddr[i] = src, dst
		b.SrcPort[i] = uint16(32768 + g.rng.IntN(28000))
		b.DstPort[i] = port
		if port == 53 || port == 123 {
			b.Proto[i] = 17
		} else {
			b.Proto[i] = 6
			b.TCPFlags[i] = uint16([]int{0x1b, 0x1a, 0x02, 0x12, 0x19}[g.rng.IntN(5)])
		}
		b.InIf[i] = uint32(1 + g.rng.IntN(8))
		b.OutIf[i] = uint32(10 + g.rng.IntN(4))
		b.SrcMask[i], b.DstMask[i] = 24, uint8(16+g.rng.IntN(9))
		b.Direction[i] = flow.DirectionIngress
		b.FlowState[i] = flow.FlowStateEnd
		pk := uint64(1 + g.rng.ExpFloat64()*20)
		b.Packets[i] = pk
		b.Bytes[i] = pk * uint64(60+g.rng.IntN(1400))
		b.DstCountry[i] = g.countries[int(dst[15])%len(g.countries)]
		b.DstASName[i] = g.asNames[int(dst[14])%len(g.asNames)]
		b.Service[i] = genServices[port]
		b.FlowType[i] = flow.FlowTypeToInternet
	}
}

// genBatch returns n flows starting at start.
func genBatch(seed uint64, start time.Time, n int, flowsPerSec float64) *flow.Batch {
	b := new(flow.Batch)
	newFlowGen(seed, start, flowsPerSec).fill(b, n)
	return b
}
