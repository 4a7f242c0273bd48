package app

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowlake/flowlake/internal/config"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/output"
	"github.com/flowlake/flowlake/internal/pcapfile"
	"github.com/flowlake/flowlake/internal/testenv"
)

// memWriter totals what reaches the outputs. It is an output.Output whose
// Send counts under a mutex: it never blocks, so nothing is dropped.
type memWriter struct {
	mu             sync.Mutex
	flows          int
	bytes, packets uint64
	bySource       map[uint8]int
}

func (m *memWriter) Name() string { return "mem" }
func (m *memWriter) Start() error { return nil }
func (m *memWriter) Stop() error  { return nil }

func (m *memWriter) Send(b *flow.Batch) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bySource == nil {
		m.bySource = map[uint8]int{}
	}
	for i := 0; i < b.Len(); i++ {
		m.flows++
		m.bytes += b.Bytes[i]
		m.packets += b.Packets[i]
		m.bySource[b.SourceType[i]]++
	}
}

func (m *memWriter) totals() (int, uint64, uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.flows, m.bytes, m.packets
}

// start runs an App on loopback ports chosen by the kernel.
func start(t *testing.T, mutate func(*config.Config)) (*App, *memWriter, func()) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Collector.UDP = []string{"127.0.0.1:0"}
	cfg.Collector.TCP = []string{"127.0.0.1:0"}
	cfg.Collector.SocketsPerPort = 2
	// Exporters reading a pcap send flat out while other test packages
	// load the machine: a large buffer keeps the totals exact.
	cfg.Collector.ReceiveBuffer = 64 << 20
	cfg.Collector.BatchDelay = 50 * time.Millisecond
	cfg.Archive.Enabled = false
	if mutate != nil {
		mutate(&cfg)
	}
	reg := prometheus.NewRegistry()
	mw := &memWriter{}
	svc, err := New(cfg, Dependencies{
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registerer: reg, Gatherer: reg,
		Outputs: []output.Output{mw},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if err := svc.Stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return svc, mw, stop
}

// waitFlows waits until want flows arrived, or a generous deadline passed
// (the deadline only ends a failing test; nothing asserts on timing).
func waitFlows(mw *memWriter, want int) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if n, _, _ := mw.totals(); n >= want {
			// Give stragglers (duplicates would be a bug) a moment.
			time.Sleep(200 * time.Millisecond)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	trafficOnce sync.Once
	trafficPath string
	trafficErr  error
)

// traffic generates a small synthetic packet capture with the project's
// generator (bench/cmd/gen), once per test binary.
func traffic(t *testing.T) string {
	t.Helper()
	gen := testenv.Build(t, "./bench/cmd/gen")
	trafficOnce.Do(func() {
		dir, err := os.MkdirTemp("", "flowlake-traffic")
		if err != nil {
			trafficErr = err
			return
		}
		trafficPath = filepath.Join(dir, "traffic.pcap")
		cmd := exec.Command(gen, "-conns", "2000", "-duration", "60", "-seed", "7", "-o", trafficPath)
		if out, err := cmd.CombinedOutput(); err != nil {
			trafficErr = fmt.Errorf("gen: %v: %s", err, out)
		}
	})
	if trafficErr != nil {
		t.Fatal(trafficErr)
	}
	return trafficPath
}

// softflowdTotals parses softflowd's own end-of-run report: records exported
// and the per-protocol octet and packet totals.
func softflowdTotals(t *testing.T, out string) (records int, octets, packets uint64) {
	t.Helper()
	m := regexp.MustCompile(`Flows exported: \d+ \((\d+) records\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no export report in softflowd output:\n%s", out)
	}
	records, _ = strconv.Atoi(m[1])
	for _, p := range regexp.MustCompile(`(?m)^\s+[\w-]+ \(\d+\):\s+(\d+)\s+(\d+)`).FindAllStringSubmatch(out, -1) {
		o, _ := strconv.ParseUint(p[1], 10, 64)
		n, _ := strconv.ParseUint(p[2], 10, 64)
		octets += o
		packets += n
	}
	return records, octets, packets
}

func TestSoftflowdEndToEnd(t *testing.T) {
	softflowd := testenv.LookPath(t, "softflowd")
	pcap := traffic(t)
	for _, v := range []string{"5", "9", "10"} {
		t.Run("v"+v, func(t *testing.T) {
			svc, mw, stop := start(t, nil)
			addr := svc.Collector().UDPAddrs()[0]
			cmd := exec.Command(softflowd, "-d", "-r", pcap, "-n", addr.String(), "-v", v, "-m", "100000", "-c", "none",
				"-p", filepath.Join(t.TempDir(), "pid"))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("softflowd: %v\n%s", err, out)
			}
			records, octets, packets := softflowdTotals(t, string(out))
			waitFlows(mw, records)
			stop()
			flows, gotBytes, gotPkts := mw.totals()
			if flows != records || gotBytes != octets || gotPkts != packets {
				t.Errorf("flowlake got %d flows, %d bytes, %d packets; softflowd exported %d records, %d octets, %d packets",
					flows, gotBytes, gotPkts, records, octets, packets)
			}
		})
	}
}

// ipTotals sums packets and IP-layer bytes of a capture with tshark, the
// reference for pmacct's exports.
func ipTotals(t *testing.T, pcap string) (packets, ipBytes uint64) {
	t.Helper()
	tshark := testenv.LookPath(t, "tshark")
	out, err := exec.Command(tshark, "-r", pcap, "-T", "fields", "-e", "ip.len", "-e", "ipv6.plen").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	s := bufio.NewScanner(bytes.NewReader(out))
	for s.Scan() {
		f := strings.Split(s.Text(), "\t")
		packets++
		if n, err := strconv.ParseUint(firstField(f[0]), 10, 64); err == nil && f[0] != "" {
			ipBytes += n
		} else if len(f) > 1 {
			n, _ := strconv.ParseUint(firstField(f[1]), 10, 64)
			ipBytes += n + 40
		}
	}
	return packets, ipBytes
}

// firstField keeps the outer header's value when tshark lists several.
func firstField(s string) string {
	v, _, _ := strings.Cut(s, ",")
	return v
}

func TestPmacctNfprobeEndToEnd(t *testing.T) {
	pmacctd := testenv.LookPath(t, "pmacctd")
	pcap := traffic(t)
	wantPkts, wantBytes := ipTotals(t, pcap)
	for _, v := range []string{"9", "10"} {
		t.Run("v"+v, func(t *testing.T) {
			svc, mw, stop := start(t, nil)
			addr := svc.Collector().UDPAddrs()[0]
			conf := filepath.Join(t.TempDir(), "pmacctd.conf")
			os.WriteFile(conf, []byte(strings.Join([]string{
				"daemonize: false", "pcap_savefile: " + pcap, "pcap_savefile_wait: false", "snaplen: 128",
				"plugins: nfprobe[np]", "nfprobe_receiver[np]: " + addr.String(), "nfprobe_version[np]: " + v,
				"nfprobe_maxflows[np]: 100000",
				"aggregate[np]: src_host, dst_host, src_port, dst_port, proto, tos, tcpflags", ""}, "\n")), 0o644)
			runPmacctd(t, pmacctd, conf)
			// pmacctd flushes its cache on exit; wait for packets to stop
			// changing, since pmacct does not report what it exported.
			waitStable(mw)
			stop()
			flows, gotBytes, gotPkts := mw.totals()
			if flows == 0 || gotPkts != wantPkts || gotBytes != wantBytes {
				t.Errorf("flowlake got %d flows, %d bytes, %d packets; the capture holds %d packets, %d IP bytes",
					flows, gotBytes, gotPkts, wantPkts, wantBytes)
			}
		})
	}
}

// TestPmacctSfprobeEndToEnd has pmacctd sample every packet of a capture as
// sFlow; what it sent is captured on loopback and decoded by tshark, the
// independent oracle (pmacct does not report what it exported).
func TestPmacctSfprobeEndToEnd(t *testing.T) {
	pmacctd := testenv.LookPath(t, "pmacctd")
	tcpdump := testenv.LookPath(t, "tcpdump")
	tshark := testenv.LookPath(t, "tshark")
	pcap := traffic(t)
	svc, mw, stop := start(t, nil)
	addr := svc.Collector().UDPAddrs()[0]
	capFile := filepath.Join(t.TempDir(), "sflow.pcap")
	td := exec.Command(tcpdump, "-i", "lo", "-n", "-s", "0", "-U", "-w", capFile, fmt.Sprintf("udp and dst port %d", addr.Port()))
	var tdErr bytes.Buffer
	td.Stderr = &tdErr
	if err := td.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100 && !strings.Contains(tdErr.String(), "listening"); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	conf := filepath.Join(t.TempDir(), "pmacctd.conf")
	os.WriteFile(conf, []byte(strings.Join([]string{
		"daemonize: false", "pcap_savefile: " + pcap, "pcap_savefile_wait: false", "snaplen: 128",
		"plugins: sfprobe[sp]", "sfprobe_receiver[sp]: " + addr.String(), "sfprobe_agentip[sp]: 127.0.0.1",
		"sfprobe_agentsubid[sp]: 1", "sampling_rate[sp]: 1", ""}, "\n")), 0o644)
	runPmacctd(t, pmacctd, conf)
	waitStable(mw)
	metrics := scrape(t, svc)
	stop()
	time.Sleep(500 * time.Millisecond)
	td.Process.Signal(os.Interrupt)
	td.Wait()
	fields, err := exec.Command(tshark, "-r", capFile, "-d", fmt.Sprintf("udp.port==%d,sflow", addr.Port()),
		"-T", "fields", "-e", "sflow_245.header.frame_length").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var samples, frameBytes uint64
	for _, line := range strings.Fields(string(fields)) {
		for _, v := range strings.Split(line, ",") {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				t.Fatalf("tshark value %q", v)
			}
			samples++
			frameBytes += n
		}
	}
	if samples == 0 {
		t.Fatalf("tshark saw no sFlow samples in the capture (%s)", tdErr.String())
	}
	// At 1:1 sampling every sample is one flow of one packet and its frame length.
	flows, gotBytes, gotPkts := mw.totals()
	if uint64(flows) != samples || gotPkts != samples || gotBytes != frameBytes {
		t.Errorf("flowlake got %d flows, %d packets, %d bytes; pmacctd sent %d samples of %d bytes (tshark)\n%s",
			flows, gotPkts, gotBytes, samples, frameBytes,
			regexp.MustCompile(`(?m)^flowlake_(collector|exporter)_.*$`).FindAllString(metrics, -1))
	}
	// And pmacct sampled (nearly) every packet of the capture.
	if wantPkts, _ := ipTotals(t, pcap); samples+16 < wantPkts {
		t.Errorf("pmacctd sent %d samples for %d packets", samples, wantPkts)
	}
}

// runPmacctd runs pmacctd over a capture to its end. At the end of a savefile
// the core tells its plugin to stop; when the plugin's exit is reaped before
// the core's own exit path runs, pmacctd reports "no more plugins active" and
// exits 1 (pmacct's core process, plugin reaper). That race is the capture
// ending, not a failure, so status 1 is accepted only with both messages; the
// callers then check every flow against an independent count.
func runPmacctd(t *testing.T, pmacctd, conf string) {
	t.Helper()
	out, err := exec.Command(pmacctd, "-f", conf).CombinedOutput()
	var exit *exec.ExitError
	if err == nil || errors.As(err, &exit) && exit.ExitCode() == 1 &&
		bytes.Contains(out, []byte("Shutting down on user request")) &&
		bytes.Contains(out, []byte("no more plugins active")) {
		return
	}
	t.Fatalf("pmacctd: %v\n%s", err, out)
}

func scrape(t *testing.T, svc *App) string {
	t.Helper()
	resp, err := http.Get("http://" + svc.HTTP().Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// waitStable waits until no flow arrived for a second (bounded).
func waitStable(mw *memWriter) {
	last, since := -1, time.Now()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		n, _, _ := mw.totals()
		if n != last {
			last, since = n, time.Now()
		} else if n > 0 && time.Since(since) > time.Second {
			return
		}
	}
}

// TestIPFIXOverTCP streams a real exporter's IPFIX messages over one TCP
// session and expects what decoding the same capture from UDP gives.
func TestIPFIXOverTCP(t *testing.T) {
	dgrams, err := pcapfile.ReadFile("../../testdata/pcap/ipfix/ipfixcol2-cesnet-probe-ipfix-68msgs-3979recs.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var stream []byte
	for _, d := range dgrams {
		stream = append(stream, d.Payload...)
	}
	udpSvc, udpW, udpStop := start(t, nil)
	uc, err := net.Dial("udp", udpSvc.Collector().UDPAddrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dgrams {
		uc.Write(d.Payload)
		time.Sleep(time.Millisecond) // loopback, but do not outrun the receive buffer
	}
	uc.Close()
	waitStable(udpW)
	udpStop()
	wantFlows, wantBytes, _ := udpW.totals()
	if wantFlows < 3979 {
		t.Fatalf("UDP path decoded only %d flows", wantFlows)
	}

	svc, mw, stop := start(t, nil)
	c, err := net.Dial("tcp", svc.Collector().TCPAddrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	// Odd-sized writes: framing must come from the IPFIX length field.
	for len(stream) > 0 {
		n := min(len(stream), 777)
		if _, err := c.Write(stream[:n]); err != nil {
			t.Fatal(err)
		}
		stream = stream[n:]
	}
	c.Close()
	waitFlows(mw, wantFlows)
	stop()
	if flows, b, _ := mw.totals(); flows != wantFlows || b != wantBytes {
		t.Errorf("TCP: %d flows %d bytes; UDP: %d flows %d bytes", flows, b, wantFlows, wantBytes)
	}
}

// TestMalformedCountedAndMetrics sends garbage and a valid v5 datagram and
// expects the garbage counted, the valid flows kept, the collector alive and
// the counters visible on /metrics.
func TestMalformedCountedAndMetrics(t *testing.T) {
	dgrams, err := pcapfile.ReadFile("../../testdata/pcap/netflow5/" + firstFile(t, "../../testdata/pcap/netflow5"))
	if err != nil {
		t.Fatal(err)
	}
	svc, mw, stop := start(t, nil)
	c, _ := net.Dial("udp", svc.Collector().UDPAddrs()[0].String())
	c.Write([]byte{0, 9, 0xff, 0xff, 1, 2, 3})                     // v9 header cut short
	c.Write([]byte("GET / HTTP/1.1\r\n\r\n"))                      // not a flow protocol
	c.Write(append([]byte{0, 5, 0, 30}, dgrams[0].Payload[4:]...)) // v5 claiming 30 records
	want := 0
	for _, d := range dgrams {
		c.Write(d.Payload)
		want += int(d.Payload[3])
	}
	c.Close()
	waitFlows(mw, want)
	resp, err := http.Get("http://" + svc.HTTP().Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	stop()
	if n, _, _ := mw.totals(); n != want {
		t.Errorf("%d flows kept, want %d", n, want)
	}
	m := regexp.MustCompile(`(?m)^flowlake_collector_decode_errors_total (\d+)`).FindSubmatch(body)
	if m == nil || string(m[1]) != "3" {
		t.Errorf("decode errors metric: %q", m)
	}
	for _, name := range []string{"flowlake_exporter_records_total{", "flowlake_collector_kernel_drops{", "flowlake_collector_datagrams_total"} {
		if !bytes.Contains(body, []byte(name)) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

func firstFile(t *testing.T, dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) == 0 {
		t.Fatalf("%s: %v", dir, err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".pcap") && !strings.Contains(e.Name(), "malformed") {
			return e.Name()
		}
	}
	t.Fatalf("no pcap in %s", dir)
	return ""
}

// gate is a writer that blocks until opened: a destination that stopped
// answering.
type gate struct {
	open chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (g *gate) Write(p []byte) (int, error) {
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

// TestBlockedOutputDoesNotStallCollection: with the JSON lines output's
// destination blocked, every flow still reaches the other outputs, the
// blocked one drops what its queue cannot hold and counts it, and once the
// destination answers it writes exactly the flows it did not drop.
func TestBlockedOutputDoesNotStallCollection(t *testing.T) {
	dgrams, err := pcapfile.ReadFile("../../testdata/pcap/ipfix/ipfixcol2-cesnet-probe-ipfix-68msgs-3979recs.pcap")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Listen = ""
	cfg.Collector.UDP = []string{"127.0.0.1:0"}
	cfg.Collector.TCP = nil
	cfg.Collector.SocketsPerPort = 1
	cfg.Collector.ReceiveBuffer = 64 << 20
	cfg.Collector.BatchRows = 40 // many batches: more than the queue holds
	cfg.Collector.BatchDelay = 50 * time.Millisecond
	cfg.Archive.Enabled = false
	cfg.Output.JSONL = "-"
	reg := prometheus.NewRegistry()
	out := &gate{open: make(chan struct{})}
	mw := &memWriter{}
	svc, err := New(cfg, Dependencies{
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registerer: reg, Gatherer: reg, Stdout: out,
		Outputs: []output.Output{mw},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", svc.Collector().UDPAddrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dgrams {
		c.Write(d.Payload)
		time.Sleep(time.Millisecond)
	}
	c.Close()
	waitFlows(mw, 3979)
	waitStable(mw)
	flows, _, _ := mw.totals()
	if flows < 3979 {
		t.Errorf("collection stalled behind a blocked output: %d of 3979 flows reached the other output", flows)
	}
	dropped := gathered(t, reg, "flowlake_output_dropped_flows_total", "jsonl")
	if dropped == 0 {
		t.Fatal("a blocked output dropped nothing: the test proves nothing")
	}
	close(out.open)
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Count(out.buf.Bytes(), []byte("\n"))
	if lines+int(dropped) != flows {
		t.Errorf("jsonl wrote %d flows and dropped %v; %d were collected", lines, dropped, flows)
	}
	if sent := gathered(t, reg, "flowlake_output_sent_flows_total", "jsonl"); int(sent) != lines {
		t.Errorf("sent metric %v, %d lines written", sent, lines)
	}
}

// gathered reads the value of a metric of reg with output label out.
func gathered(t *testing.T, reg *prometheus.Registry, name, out string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "output" && l.GetValue() == out {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{output=%q}", name, out)
	return 0
}
