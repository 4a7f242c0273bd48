package networks

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t testing.TB, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const sampleYAML = `networks:
  - prefix: 10.0.0.0/8
    name: corp
    site: paris
  - prefix: 10.1.0.0/16
    name: dc-lyon
    site: lyon
    role: datacenter
    tenant: ops
    vnet: vnet-1
    subnet: app
    tags: {env: prod}
  - prefix: 2001:db8::/32
    name: v6-corp
    site: paris
  - prefix: 192.0.2.7
    name: one-host
`

const sampleCSV = `prefix,name,site,role,tenant,vpc,subnet,tags
10.0.0.0/8,corp,paris,,,,,
10.1.0.0/16,dc-lyon,lyon,datacenter,ops,vnet-1,app,env=prod
# a comment line
2001:db8::/32,v6-corp,paris,,,,,
192.0.2.7,one-host,,,,,,
`

func TestLoadLongestPrefix(t *testing.T) {
	for _, f := range []struct{ name, body string }{{"n.yaml", sampleYAML}, {"n.csv", sampleCSV}} {
		tab, err := Load(write(t, f.name, f.body))
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if tab.Len() != 4 {
			t.Errorf("%s: %d networks, want 4", f.name, tab.Len())
		}
		cases := map[string]string{
			"10.2.3.4":        "corp",
			"10.1.3.4":        "dc-lyon",
			"2001:db8::1":     "v6-corp",
			"192.0.2.7":       "one-host",
			"192.0.2.8":       "",
			"::ffff:10.1.0.1": "dc-lyon",
			"2001:db9::1":     "",
		}
		for ip, want := range cases {
			n := tab.Lookup(netip.MustParseAddr(ip).Unmap())
			got := ""
			if n != nil {
				got = n.Name
			}
			if got != want {
				t.Errorf("%s: %s -> %q, want %q", f.name, ip, got, want)
			}
		}
		n := tab.Lookup(netip.MustParseAddr("10.1.0.1"))
		if n.Site != "lyon" || n.Role != "datacenter" || n.Tenant != "ops" || n.VNet != "vnet-1" || n.Subnet != "app" || n.Tags["env"] != "prod" {
			t.Errorf("%s: fields %+v", f.name, n)
		}
	}
}

func TestBadInputNamesFileAndLine(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"bad.csv", "prefix,name\n10.0.0.0/8,a\n10.0.0.0/33,b\n", ":3:"},
		{"bad2.csv", "prefix,name\n10.0.0.0/8,a\n\n\"unterminated,b\n", ":4:"},
		{"tags.csv", "prefix,tags\n10.0.0.0/8,novalue\n", ":2:"},
		{"nohdr.csv", "name,site\nx,y\n", ":1:"},
		{"bad.yaml", "networks:\n  - prefix: 10.0.0.0/8\n    name: a\n  - prefix: nonsense\n    name: b\n", ":4:"},
		{"bad2.yaml", "networks:\n  - prefix: 10.0.0.0/8\n   name: [\n", "line "},
		{"bad3.yaml", "networks:\n  - prefix: 10.0.0.0/8\n    tags: [a, b]\n", ":2:"},
	}
	for _, c := range cases {
		p := write(t, c.name, c.body)
		_, err := Load(p)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want file and %q", c.name, err, c.want)
		}
	}
	var le *LineError
	_, err := Load(write(t, "x.csv", "prefix\nfoo\n"))
	if !errors.As(err, &le) || le.Line != 2 {
		t.Errorf("error %v, want LineError at line 2", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sampleCSV, false)
	f.Add(sampleYAML, true)
	f.Add("prefix\n::/0\n", false)
	f.Fuzz(func(t *testing.T, body string, isYAML bool) {
		var tab *Table
		var err error
		if isYAML {
			tab, err = parseYAML("f.yaml", []byte(body))
		} else {
			tab, err = parseCSV("f.csv", []byte(body))
		}
		if err == nil {
			tab.Lookup(netip.MustParseAddr("10.0.0.1"))
			tab.Lookup(netip.MustParseAddr("2001:db8::1"))
		}
	})
}
