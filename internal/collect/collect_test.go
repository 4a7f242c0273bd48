package collect

import (
	"context"
	"net"
	"net/netip"
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
// once, from the handler goroutine, before Run returns.
func TestReusePortAndDrain(t *testing.T) {
	dgrams, err := pcapfile.ReadFile("../../testdata/pcap/ipfix/ipfixcol2-cesnet-probe-ipfix-68msgs-3979recs.pcap")
	if err != nil {
		t.Fatal(err)
	}
	nf, _ := netflow.New(netflow.Config{})
	var mu sync.Mutex
	flows, batches := 0, 0
	c, err := New(Config{
		UDP: []string{"127.0.0.1:0"}, SocketsPerPort: 3, BatchRows: 500, BatchDelay: 20 * time.Millisecond,
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
	if n := len(c.udp); n != 3 {
		t.Fatalf("%d sockets", n)
	}
	addr := c.UDPAddrs()
	if len(addr) != 1 || addr[0].Port() == 0 {
		t.Fatalf("bound %v", addr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
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
	cancel()
	if err := <-done; err != nil {
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
