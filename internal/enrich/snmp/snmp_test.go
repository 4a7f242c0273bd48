package snmp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/testenv"
)

// startSnmpd runs Debian's snmpd on a free loopback port with a throwaway
// configuration and data directory, and returns the port.
func startSnmpd(t *testing.T) uint16 {
	t.Helper()
	bin := testenv.LookPath(t, "snmpd")
	dir := t.TempDir()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	conf := fmt.Sprintf(`agentAddress udp:127.0.0.1:%d
rocommunity flowtest 127.0.0.1
rouser flowuser priv
sysName flowlake-test-agent
createUser flowuser SHA "flowauthpass" AES "flowprivpass"
`, port)
	if err := os.WriteFile(filepath.Join(dir, "snmpd.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	persist := filepath.Join(dir, "persist")
	if err := os.MkdirAll(persist, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", "-C", "-c", filepath.Join(dir, "snmpd.conf"), "-Lf", filepath.Join(dir, "snmpd.log"),
		"-p", filepath.Join(dir, "snmpd.pid"), "--persistentDir="+persist)
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+persist, "SNMPCONFPATH="+dir, "MIBS=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "snmpd.log"))
			t.Logf("snmpd log:\n%s", log)
		}
	})
	snmpdExited = exited
	return uint16(port)
}

// snmpdExited closes when the snmpd of the running test exits, so a test
// reports a dead agent at once instead of retrying until its deadline.
var snmpdExited chan struct{}

func TestPollRealSnmpd(t *testing.T) {
	port := startSnmpd(t)
	target := fmt.Sprintf("127.0.0.1:%d", port)
	kernel, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []Config{
		{Exporters: []string{target}, Community: "flowtest", Timeout: 500 * time.Millisecond},
		{Exporters: []string{target}, Version: "3", User: "flowuser", AuthProto: "SHA", AuthPass: "flowauthpass",
			PrivProto: "AES", PrivPass: "flowprivpass", Timeout: 500 * time.Millisecond},
	} {
		t.Run("v"+map[string]string{"": "2c", "3": "3"}[cfg.Version], func(t *testing.T) {
			p, err := New(cfg, Dependencies{})
			if err != nil {
				t.Fatal(err)
			}
			tg := p.Targets()[0]
			var sys string
			// snmpd needs a moment to bind; retry until it answers.
			deadline := time.Now().Add(15 * time.Second)
			for {
				s, got, err := p.Poll(context.Background(), tg)
				if err == nil {
					sys = s
					byIdx := map[uint32]string{}
					for _, it := range got {
						byIdx[it.Index] = it.Name
						if it.ExporterAddr.Netip() != netip.MustParseAddr("127.0.0.1") {
							t.Errorf("interface %d exporter %s", it.Index, it.ExporterAddr)
						}
					}
					// The kernel is the oracle for names and indexes.
					for _, k := range kernel {
						if byIdx[uint32(k.Index)] != k.Name {
							t.Errorf("ifIndex %d: snmp name %q, kernel %q", k.Index, byIdx[uint32(k.Index)], k.Name)
						}
					}
					for _, it := range got {
						if it.Name == "lo" && (it.Description != "lo" || it.Speed != 10_000_000) {
							t.Errorf("lo: %+v", it)
						}
					}
					break
				}
				select {
				case <-snmpdExited:
					t.Fatalf("snmpd exited: %v", err)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("snmpd never answered: %v", err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if sys != "flowlake-test-agent" {
				t.Errorf("sysName %q", sys)
			}
		})
	}
	// Wrong credentials fail with an error, not a hang or a panic.
	p, _ := New(Config{Exporters: []string{target}, Version: "3", User: "flowuser", AuthProto: "SHA", AuthPass: "wrongpassword",
		PrivProto: "AES", PrivPass: "flowprivpass", Timeout: 300 * time.Millisecond}, Dependencies{})
	if _, _, err := p.Poll(context.Background(), p.Targets()[0]); err == nil {
		t.Error("poll with a wrong password succeeded")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{Version: "1"},
		{Version: "3"},
		{Version: "3", User: "u", AuthProto: "XX"},
		{Exporters: []string{"nonsense"}},
		{Exporters: []string{"127.0.0.1:99999"}},
	} {
		if _, err := New(c, Dependencies{}); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

func TestDefaultConfigValidates(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}
