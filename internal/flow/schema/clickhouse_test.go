package schema

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/testenv"
)

// clickhouse starts a throwaway clickhouse-server on loopback and returns
// a function running one statement over its HTTP interface.
func clickhouse(t *testing.T) (run func(string) (string, error), version string) {
	t.Helper()
	bin := testenv.LookPath(t, "clickhouse-server")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	conf := fmt.Sprintf(`<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>%d</http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>%s/data/</path>
  <tmp_path>%s/tmp/</tmp_path>
  <mark_cache_size>5368709</mark_cache_size>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <profiles><default></default></profiles>
  <quotas><default></default></quotas>
</yandex>
`, port, dir, dir)
	path := filepath.Join(dir, "config.xml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config-file="+path)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	run = func(q string) (string, error) {
		resp, err := http.Post(url, "text/plain", strings.NewReader(q))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%s: %s", resp.Status, b)
		}
		return strings.TrimSpace(string(b)), nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := run("SELECT version()")
		if err == nil {
			return run, v
		}
		if time.Now().After(deadline) {
			t.Fatalf("clickhouse-server did not answer: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// atLeast reports whether version (such as "18.16.1") is major.minor or
// later.
func atLeast(version string, major, minor int) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, _ := strconv.Atoi(parts[0])
	mi, _ := strconv.Atoi(parts[1])
	return ma > major || (ma == major && mi >= minor)
}

// TestClickHouseServer creates the flows table on a real server with the
// feature set its version has (Debian ships 18.16), writes a flow and reads
// it back through the table's types.
func TestClickHouseServer(t *testing.T) {
	run, version := clickhouse(t)
	features := ClickHouse1816
	if atLeast(version, 20, 1) {
		features = ClickHouseCurrent
	}
	t.Logf("clickhouse-server %s", version)
	if _, err := run(features.CreateTable("flows", 30)); err != nil {
		t.Fatalf("CREATE TABLE: %v\n%s", err, features.CreateTable("flows", 30))
	}
	got, err := run("SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'flows' FORMAT TSV")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(got, "\n")
	if len(lines) != len(Columns) {
		t.Fatalf("server has %d columns, schema %d", len(lines), len(Columns))
	}
	for i, c := range Columns {
		name, typ, _ := strings.Cut(lines[i], "\t")
		want := features.Type(c)
		typ = strings.ReplaceAll(typ, `\'`, "'") // TSV escapes quotes
		if name != c.Name || typ != want {
			t.Errorf("column %d: server has %s %s, want %s %s", i, name, typ, c.Name, want)
		}
	}
	addr := "toFixedString(unhex('00000000000000000000FFFF0A000001'), 16)"
	if features.IPv6 {
		addr = "toIPv6('::ffff:10.0.0.1')"
	}
	if _, err := run("INSERT INTO flows (time_received, src_addr, direction, bytes, src_net) SELECT toDateTime('2026-03-03 10:00:00', 'UTC'), " + addr + ", 'egress', 1500, 'corp'"); err != nil {
		t.Fatal(err)
	}
	got, err = run("SELECT toString(time_received), hex(src_addr), direction, bytes, src_net, source_type FROM flows FORMAT TSV")
	if err != nil {
		t.Fatal(err)
	}
	if want := "2026-03-03 10:00:00\t00000000000000000000FFFF0A000001\tegress\t1500\tcorp\tunknown"; got != want && !strings.HasPrefix(got, "2026-03-03 10:00:00.000\t") {
		t.Errorf("read back %q, want %q", got, want)
	}
}
