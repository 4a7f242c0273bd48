// Package clickhouse is flowlake's scale-out store: flows in a ClickHouse
// MergeTree (or a Distributed table over shards), written in large batches
// over the native protocol with clickhouse-go v2, tables created and
// migrated from the canonical schema, and the features a server has
// detected so one build works from Debian's 18.16 to current releases.
package clickhouse

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config configures the ClickHouse store.
type Config struct {
	// DSN is clickhouse://[user[:password]@]host:port[,host:port...]/database
	// with optional query parameters cluster=NAME (shard over a
	// remote_servers cluster), secure=true (TLS), dial_timeout=5s.
	DSN string `yaml:"dsn"`
	// Retention is how long flows are kept; 0 keeps them forever. A
	// table TTL where the server has TTL, daily partition drops where not.
	Retention time.Duration `yaml:"retention"`
	// BatchRows is how many flows a writer gathers before an insert.
	BatchRows int `yaml:"batch_rows"`
	// FlushInterval bounds how long a flow waits in a writer.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// AllowDrop lets a migration shorten the retention of an existing
	// table (which deletes data); without it that is an error.
	AllowDrop bool `yaml:"allow_drop"`
	// MigrationLockTimeout bounds the wait for another process' migration.
	MigrationLockTimeout time.Duration `yaml:"migration_lock_timeout"`
}

// DefaultConfig is the store's configuration before the user's.
func DefaultConfig() Config {
	return Config{BatchRows: 262144, FlushInterval: 5 * time.Second, MigrationLockTimeout: 2 * time.Minute}
}

// Validate checks the configuration without connecting.
func (c Config) Validate() error {
	if _, err := ParseDSN(c.DSN); err != nil {
		return err
	}
	if c.Retention < 0 {
		return errors.New("clickhouse: retention must not be negative")
	}
	if c.BatchRows <= 0 {
		return errors.New("clickhouse: batch_rows must be positive")
	}
	if c.FlushInterval <= 0 {
		return errors.New("clickhouse: flush_interval must be positive")
	}
	return nil
}

// DSN is a parsed store address.
type DSN struct {
	Addrs       []string // host:port, the first one is tried first
	Database    string
	User        string
	Password    string
	Cluster     string
	Secure      bool
	DialTimeout time.Duration
}

// Server names the servers in errors and logs (no password).
func (d DSN) Server() string { return strings.Join(d.Addrs, ",") + "/" + d.Database }

// IsDSN reports whether s names a ClickHouse store.
func IsDSN(s string) bool { return strings.HasPrefix(s, "clickhouse://") }

// ParseDSN parses clickhouse://user:pass@host:9000/db?cluster=c. Errors say
// what is wrong and what the form is; they never echo the password.
func ParseDSN(s string) (DSN, error) {
	const form = "clickhouse://[user[:password]@]host:port[,host:port]/database[?cluster=NAME]"
	bad := func(why string) (DSN, error) {
		return DSN{}, fmt.Errorf("clickhouse DSN: %s (want %s)", why, form)
	}
	if !IsDSN(s) {
		return bad("does not start with clickhouse://")
	}
	// The host list (h1:9000,h2:9000) is no URL host: split the authority
	// off before url.Parse reads the path and query.
	rest := strings.TrimPrefix(s, "clickhouse://")
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority := rest[:end]
	u, err := url.Parse("clickhouse://host" + rest[end:])
	if err != nil {
		// url.Parse's message can include the whole string.
		return bad("not a URL")
	}
	d := DSN{User: "default", DialTimeout: 5 * time.Second}
	hosts := authority
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		hosts = authority[at+1:]
		user, pass, _ := strings.Cut(authority[:at], ":")
		if d.User, err = url.PathUnescape(user); err != nil {
			return bad("bad user")
		}
		if d.Password, err = url.PathUnescape(pass); err != nil {
			return bad("bad password escape")
		}
	}
	if hosts == "" {
		return bad("no host")
	}
	for _, hp := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(hp)
		if err != nil {
			host, port = hp, "9000"
		}
		if host == "" {
			return bad(fmt.Sprintf("empty host in %q", hp))
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return bad(fmt.Sprintf("bad port %q", port))
		}
		if port == "8123" || port == "8443" {
			return bad("port " + port + " is ClickHouse's HTTP interface; the store speaks the native protocol (9000, or 9440 with secure=true)")
		}
		d.Addrs = append(d.Addrs, net.JoinHostPort(host, port))
	}
	d.Database = strings.Trim(u.Path, "/")
	if d.Database == "" {
		return bad("no database")
	}
	if strings.ContainsAny(d.Database, "/`\\") {
		return bad(fmt.Sprintf("bad database name %q", d.Database))
	}
	q := u.Query()
	for k, v := range q {
		switch k {
		case "cluster":
			d.Cluster = v[0]
		case "secure":
			d.Secure, err = strconv.ParseBool(v[0])
			if err != nil {
				return bad("secure must be true or false")
			}
		case "dial_timeout":
			d.DialTimeout, err = time.ParseDuration(v[0])
			if err != nil || d.DialTimeout <= 0 {
				return bad("dial_timeout must be a positive duration")
			}
		default:
			return bad(fmt.Sprintf("unknown parameter %q", k))
		}
	}
	return d, nil
}
