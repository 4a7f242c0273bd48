// Package chtest starts real clickhouse-server processes for tests: one
// per call, on loopback ports, with a throwaway configuration and data
// directory, in the foreground (no daemon, no systemd), stopped when the
// test ends. scripts/deps.sh installs Debian's clickhouse-server when it
// is missing; without it a test skips, or fails under CI=true.
package chtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/testenv"
)

// Server is one running clickhouse-server.
type Server struct {
	Dir      string // configuration, data and logs
	TCPPort  int    // native protocol
	HTTPPort int
	cmd      *exec.Cmd
	bin      string
	conf     string
	done     chan struct{}
}

// Options shape a server's configuration.
type Options struct {
	// Clusters adds remote_servers: cluster name -> one "host:port" per
	// shard (one replica each).
	Clusters map[string][]string
	// TCPPort fixes the native port (0 picks a free one); a cluster's
	// servers need to know each other's ports before they start.
	TCPPort int
}

// FreePort returns a loopback TCP port nobody listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs a server until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := testenv.LookPath(t, "clickhouse-server")
	s := &Server{Dir: t.TempDir(), TCPPort: opts.TCPPort, HTTPPort: FreePort(t), bin: bin}
	if s.TCPPort == 0 {
		s.TCPPort = FreePort(t)
	}
	s.conf = filepath.Join(s.Dir, "config.xml")
	if err := os.WriteFile(s.conf, []byte(config(s, opts)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

// config is a minimal clickhouse-server configuration: loopback only, UTC,
// small caches, two users (default: everything; reader: read-only).
func config(s *Server, opts Options) string {
	var clusters strings.Builder
	for name, shards := range opts.Clusters {
		fmt.Fprintf(&clusters, "<%s>", name)
		for _, hp := range shards {
			host, port, _ := net.SplitHostPort(hp)
			fmt.Fprintf(&clusters, "<shard><replica><host>%s</host><port>%s</port></replica></shard>", host, port)
		}
		fmt.Fprintf(&clusters, "</%s>", name)
	}
	d := s.Dir
	return fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
  <logger><level>information</level><log>%[1]s/server.log</log><errorlog>%[1]s/error.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>%[2]d</tcp_port>
  <http_port>%[3]d</http_port>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <timezone>UTC</timezone>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
    <reader><password>reader</password><networks><ip>127.0.0.1</ip></networks><profile>readonly</profile><quota>default</quota></reader>
  </users>
  <profiles><default><max_threads>2</max_threads></default><readonly><readonly>1</readonly></readonly></profiles>
  <quotas><default></default></quotas>
  <remote_servers>%[4]s</remote_servers>
</yandex>
`, d, s.TCPPort, s.HTTPPort, clusters.String())
}

func (s *Server) start() error {
	s.cmd = exec.Command(s.bin, "--config-file="+s.conf)
	s.cmd.Dir = s.Dir
	var out bytes.Buffer
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start clickhouse-server: %w", err)
	}
	s.done = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			log, _ := os.ReadFile(filepath.Join(s.Dir, "error.log"))
			return fmt.Errorf("clickhouse-server exited at start: %s\n%s", out.String(), tail(log, 2000))
		default:
		}
		if c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	return fmt.Errorf("clickhouse-server did not listen on %s within 60 s", s.Addr())
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Addr is the native protocol's host:port.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.TCPPort) }

// DSN is the store DSN for database db.
func (s *Server) DSN(db string) string { return "clickhouse://" + s.Addr() + "/" + db }

// Stop ends the server (SIGTERM, then SIGKILL after 20 s).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// Restart stops the server and starts it again on the same ports and data.
func (s *Server) Restart() error {
	s.Stop()
	return s.start()
}

// Query runs q through clickhouse-client and returns its TSV output: an
// oracle independent of the Go driver under test.
func (s *Server) Query(t testing.TB, q string) string {
	t.Helper()
	client := testenv.LookPath(t, "clickhouse-client")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, client, "--host", "127.0.0.1", "--port", fmt.Sprint(s.TCPPort), "-q", q)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("clickhouse-client %q: %v\n%s", q, err, out)
	}
	return strings.TrimRight(string(out), "\n")
}

// CPU returns the server process' user+system CPU time so far.
func (s *Server) CPU() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	var ticks int64
	for _, i := range []int{11, 12} { // utime, stime (fields 14, 15)
		var n int64
		fmt.Sscan(f[i], &n)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / 100, nil // USER_HZ
}
