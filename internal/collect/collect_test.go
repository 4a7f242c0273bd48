package collect

import (
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/netflow"
	"github.com/flowlake/flowlake/internal/pcapfile"
)

func TestProtocol(t *testing.T) {
	for _, c := range []struct {
		pkt  []byte
		want string
	}{
		{[]byte{0, 5, 0, 1}, "netflow5"},
		{[]byte{0, 9, 0, 1}, "netflow9"},
		{[]byte{0, 10, 0, 16}, "ipfix"},
		{[]byte{0, 0, 0, 5, 0, 0, 0, 1}, "sflow"},
		{[]byte{0, 0, 0, 4}, ""},
		{[]byte{0, 9}, ""},
		{[]byte("GET / HTTP/1.1"), ""},
	} {
		if got := Protocol(c.pkt); got != c.want {
			t.Errorf("Protocol(%x) = %q, want %q", c.pkt, got, c.want)
		}
	}
}

// TestReusePortAndDrain opens several SO_REUSEPORT sockets on one port,
// sends a real capture, stops, and expects every flow handed on exactly
// once, from the handler goroutine, before Stop returns.
func TestReusePortAndDrain(t *testing.T) {
	dgrams, err := pcapfile.ReadFile("../../testdata/pcap/ipfix/ipfixcol2-cesnet-probe-ipfix-68msgs-3979recs.pcap")
	if err != nil {
		t.Fatal(err)
	}
	nf, _ := netflow.New(netflow.Config{})
	var mu sync.Mutex
	flows, batches := 0, 0
	cfg := DefaultConfig()
	cfg.UDP, cfg.TCP, cfg.SocketsPerPort, cfg.BatchRows, cfg.BatchDelay = []string{"127.0.0.1:0"}, nil, 3, 500, 20*time.Millisecond
	c, err := New(cfg, Dependencies{
		Decoder: &Mux{NetFlow: nf},
		Handle: func(d *flow.Decoded) {
			mu.Lock()
			flows += d.Flows.Len()
			batches++
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if n := len(c.udp); n != 3 {
		t.Fatalf("%d sockets", n)
	}
	addr := c.UDPAddrs()
	if len(addr) != 1 || addr[0].Port() == 0 {
		t.Fatalf("bound %v", addr)
	}
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr[0]))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dgrams {
		conn.Write(d.Payload)
		time.Sleep(200 * time.Microsecond)
	}
	conn.Close()
	time.Sleep(300 * time.Millisecond)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	var want int
	ref := &flow.Decoded{}
	nf2, _ := netflow.New(netflow.Config{})
	for _, d := range dgrams {
		_ = nf2.Decode(d.Payload, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 1), time.Now(), ref)
	}
	want = ref.Flows.Len()
	if flows != want || batches < 2 {
		t.Errorf("%d flows in %d batches; decoding the capture directly gives %d", flows, batches, want)
	}
}

func TestKernelDropsParses(t *testing.T) {
	conn, err := listenUDP("127.0.0.1:0", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	port := conn.LocalAddr().(*net.UDPAddr).AddrPort().Port()
	drops, err := KernelDrops(map[uint16]bool{port: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := drops[port]; !ok {
		t.Errorf("socket on port %d not found in /proc/net/udp: %v", port, drops)
	}
}

func TestDefaultConfigValidates(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ReadBatch = 0
	cfg.UDP = []string{"2055"}
	cfg.SamplingOverrides = map[string]uint32{"192.0.2.300": 10}
	cfg.Fields = []netflow.FieldMapping{{Enterprise: 9, ID: 1, Column: "no_such_column"}}
	err := cfg.Validate()
	for _, want := range []string{"read_batch: must be positive", `udp[0]: "2055"`, `sampling_overrides: "192.0.2.300"`, `fields: `} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

// TestTemplateStore: templates learnt by one decoder are saved at Stop and
// restored by the next Start, so a restarted collector decodes data sets
// at once.
func TestTemplateStore(t *testing.T) {
	dgrams, err := pcapfile.ReadFile("../../testdata/pcap/ipfix/ipfixcol2-cesnet-probe-ipfix-68msgs-3979recs.pcap")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "templates", "netflow.json")
	from := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), 4739)
	decode := func(nf *netflow.Decoder, dg []pcapfile.Datagram) int {
		var d flow.Decoded
		for _, g := range dg {
			_ = nf.Decode(g.Payload, from, time.Now(), &d)
		}
		return d.Flows.Len()
	}
	nf, _ := netflow.New(netflow.Config{})
	s := NewTemplateStore(path, nf, nil)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	want := decode(nf, dgrams)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	// A fresh decoder without the store misses the templates of data sets
	// sent before the next refresh; with it, it decodes all of them.
	last := dgrams[len(dgrams)-1:]
	cold, _ := netflow.New(netflow.Config{})
	warm, _ := netflow.New(netflow.Config{})
	s2 := NewTemplateStore(path, warm, nil)
	if err := s2.Start(); err != nil {
		t.Fatal(err)
	}
	defer s2.Stop()
	if want == 0 {
		t.Fatal("the capture decoded to no flows")
	}
	ref, _ := netflow.New(netflow.Config{})
	decode(ref, dgrams[:len(dgrams)-1])
	wantLast := decode(ref, last)
	if got := decode(warm, last); got != wantLast || wantLast == 0 {
		t.Errorf("restored templates decoded %d flows of the last datagram, want %d", got, wantLast)
	}
	if got := decode(cold, last); got == wantLast {
		t.Errorf("without templates the last datagram still decoded %d flows: the test proves nothing", got)
	}
}
