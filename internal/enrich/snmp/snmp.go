// Package snmp polls exporters over SNMP (v2c or v3) for their name and the
// names, descriptions, aliases and speeds of their interfaces (IF-MIB).
package snmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/flowlake/flowlake/internal/component"
	"github.com/flowlake/flowlake/internal/flow"
)

// Config says how to reach exporters over SNMP.
type Config struct {
	// Exporters lists the agents to poll, "addr" or "addr:port" (port 161
	// by default). The address must be the one flows arrive from.
	Exporters []string `yaml:"exporters"`
	// Version is "2c" (default) or "3".
	Version   string `yaml:"version"`
	Community string `yaml:"community"`
	// v3 user-based security.
	User      string `yaml:"user"`
	AuthProto string `yaml:"auth_proto"` // MD5, SHA, SHA224, SHA256, SHA384, SHA512
	AuthPass  string `yaml:"auth_pass"`
	PrivProto string `yaml:"priv_proto"` // DES, AES, AES192, AES256
	PrivPass  string `yaml:"priv_pass"`
	// Interval between polls of one exporter (0: the default, 5m).
	Interval time.Duration `yaml:"interval"`
	// Timeout of one request (0: the default, 2s).
	Timeout time.Duration `yaml:"timeout"`
}

// IF-MIB and SNMPv2-MIB objects.
const (
	oidSysName     = ".1.3.6.1.2.1.1.5.0"
	oidIfDescr     = ".1.3.6.1.2.1.2.2.1.2"
	oidIfSpeed     = ".1.3.6.1.2.1.2.2.1.5"
	oidIfName      = ".1.3.6.1.2.1.31.1.1.1.1"
	oidIfHighSpeed = ".1.3.6.1.2.1.31.1.1.1.15"
	oidIfAlias     = ".1.3.6.1.2.1.31.1.1.1.18"
)

// Target is one agent to poll.
type Target struct {
	Addr netip.Addr
	Port uint16
}

// DefaultConfig is SNMP v2c with community public, each exporter polled
// every five minutes, 2 s a request.
func DefaultConfig() Config {
	return Config{Version: "2c", Community: "public", Interval: 5 * time.Minute, Timeout: 2 * time.Second}
}

// Validate checks the version, its credentials and the exporters.
func (c Config) Validate() error {
	if c.Interval < 0 || c.Timeout < 0 {
		return errors.New("interval and timeout: must not be negative")
	}
	switch c.Version {
	case "", "2c", "v2c":
	case "3", "v3":
		if c.User == "" {
			return errors.New("user: version 3 needs a user")
		}
		if _, err := authProto(c.AuthProto); err != nil {
			return fmt.Errorf("auth_proto: %w", err)
		}
		if _, err := privProto(c.PrivProto); err != nil {
			return fmt.Errorf("priv_proto: %w", err)
		}
	default:
		return fmt.Errorf("version: %q: want 2c or 3", c.Version)
	}
	for i, s := range c.Exporters {
		if _, err := parseTarget(s); err != nil {
			return fmt.Errorf("exporters[%d]: %w", i, err)
		}
	}
	return nil
}

// Update receives the result of polling one exporter.
type Update func(exporter netip.Addr, sysName string, ifs []flow.Interface)

// Dependencies are what a running Poller needs besides its Config.
type Dependencies struct {
	// Update receives each exporter's names as they are polled.
	Update Update
	Logger *slog.Logger
}

// Poller polls a fixed set of exporters. It is a component: from Start
// until Stop it polls every exporter now and then every Interval.
type Poller struct {
	cfg     Config
	deps    Dependencies
	targets []Target
	loop    *component.Loop
}

// New checks cfg; polling starts with Start (Poll works at once).
func New(cfg Config, deps Dependencies) (*Poller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("snmp: %w", err)
	}
	def := DefaultConfig()
	if cfg.Interval == 0 {
		cfg.Interval = def.Interval
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.Community == "" && cfg.Version != "3" && cfg.Version != "v3" {
		cfg.Community = def.Community
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	p := &Poller{cfg: cfg, deps: deps}
	for _, s := range cfg.Exporters {
		t, err := parseTarget(s)
		if err != nil {
			return nil, err
		}
		p.targets = append(p.targets, t)
	}
	p.loop = component.NewLoop(p.run)
	return p, nil
}

func parseTarget(s string) (Target, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return Target{a.Unmap(), 161}, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return Target{}, fmt.Errorf("snmp: exporter %q: %w", s, err)
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return Target{}, fmt.Errorf("snmp: exporter %q: %w", s, err)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return Target{}, fmt.Errorf("snmp: exporter %q: bad port: %w", s, err)
	}
	return Target{a.Unmap(), uint16(n)}, nil
}

func authProto(s string) (gosnmp.SnmpV3AuthProtocol, error) {
	switch strings.ToUpper(s) {
	case "":
		return gosnmp.NoAuth, nil
	case "MD5":
		return gosnmp.MD5, nil
	case "SHA":
		return gosnmp.SHA, nil
	case "SHA224":
		return gosnmp.SHA224, nil
	case "SHA256":
		return gosnmp.SHA256, nil
	case "SHA384":
		return gosnmp.SHA384, nil
	case "SHA512":
		return gosnmp.SHA512, nil
	}
	return 0, fmt.Errorf("snmp: unknown auth protocol %q", s)
}

func privProto(s string) (gosnmp.SnmpV3PrivProtocol, error) {
	switch strings.ToUpper(s) {
	case "":
		return gosnmp.NoPriv, nil
	case "DES":
		return gosnmp.DES, nil
	case "AES":
		return gosnmp.AES, nil
	case "AES192":
		return gosnmp.AES192, nil
	case "AES256":
		return gosnmp.AES256, nil
	}
	return 0, fmt.Errorf("snmp: unknown privacy protocol %q", s)
}

// Targets returns the agents the poller polls.
func (p *Poller) Targets() []Target { return p.targets }

// Start starts polling.
func (p *Poller) Start() error {
	if p.deps.Update == nil {
		return errors.New("snmp: no Update to hand names to")
	}
	return p.loop.Start()
}

// Stop stops polling.
func (p *Poller) Stop() error { return p.loop.Stop() }

// run polls every exporter now and then every Interval until ctx ends.
// Failures are logged and retried at the next interval; the last good
// result stays in use.
func (p *Poller) run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		for _, tg := range p.targets {
			sys, ifs, err := p.Poll(ctx, tg)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				p.deps.Logger.Warn("snmp poll failed", "exporter", tg.Addr, "err", err)
				continue
			}
			p.deps.Update(tg.Addr, sys, ifs)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *Poller) client(ctx context.Context, tg Target) (*gosnmp.GoSNMP, error) {
	g := &gosnmp.GoSNMP{
		Target:         tg.Addr.String(),
		Port:           tg.Port,
		Transport:      "udp",
		Timeout:        p.cfg.Timeout,
		Retries:        1,
		MaxRepetitions: 32,
		Context:        ctx,
	}
	switch p.cfg.Version {
	case "3", "v3":
		ap, _ := authProto(p.cfg.AuthProto)
		pp, _ := privProto(p.cfg.PrivProto)
		flags := gosnmp.NoAuthNoPriv
		switch {
		case ap != gosnmp.NoAuth && pp != gosnmp.NoPriv:
			flags = gosnmp.AuthPriv
		case ap != gosnmp.NoAuth:
			flags = gosnmp.AuthNoPriv
		}
		g.Version = gosnmp.Version3
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags = flags
		g.SecurityParameters = &gosnmp.UsmSecurityParameters{
			UserName:                 p.cfg.User,
			AuthenticationProtocol:   ap,
			AuthenticationPassphrase: p.cfg.AuthPass,
			PrivacyProtocol:          pp,
			PrivacyPassphrase:        p.cfg.PrivPass,
		}
	default:
		g.Version = gosnmp.Version2c
		g.Community = p.cfg.Community
	}
	if err := g.Connect(); err != nil {
		return nil, fmt.Errorf("snmp %s: connect: %w", tg.Addr, err)
	}
	return g, nil
}

// Poll asks one exporter for its sysName and interface table.
func (p *Poller) Poll(ctx context.Context, tg Target) (string, []flow.Interface, error) {
	g, err := p.client(ctx, tg)
	if err != nil {
		return "", nil, err
	}
	defer g.Conn.Close()
	var sysName string
	res, err := g.Get([]string{oidSysName})
	if err != nil {
		return "", nil, fmt.Errorf("snmp %s: sysName: %w", tg.Addr, err)
	}
	if len(res.Variables) == 1 {
		if b, ok := res.Variables[0].Value.([]byte); ok {
			sysName = string(b)
		}
	}
	byIndex := map[uint32]*flow.Interface{}
	get := func(idx uint32) *flow.Interface {
		it := byIndex[idx]
		if it == nil {
			it = &flow.Interface{ExporterAddr: flow.AddrFromNetip(tg.Addr), Index: idx}
			byIndex[idx] = it
		}
		return it
	}
	for _, col := range []string{oidIfDescr, oidIfName, oidIfAlias, oidIfSpeed, oidIfHighSpeed} {
		err := g.BulkWalk(col, func(pdu gosnmp.SnmpPDU) error {
			idx, ok := indexOf(pdu.Name, col)
			if !ok {
				return nil
			}
			it := get(idx)
			switch col {
			case oidIfDescr:
				it.Description = str(pdu.Value)
			case oidIfName:
				it.Name = str(pdu.Value)
			case oidIfAlias:
				it.Alias = str(pdu.Value)
			case oidIfSpeed:
				// ifSpeed saturates at 2^32-1; ifHighSpeed (Mb/s) below
				// replaces it when the agent has it.
				if it.Speed == 0 {
					it.Speed = gosnmp.ToBigInt(pdu.Value).Uint64()
				}
			case oidIfHighSpeed:
				if v := gosnmp.ToBigInt(pdu.Value).Uint64(); v > 0 {
					it.Speed = v * 1_000_000
				}
			}
			return nil
		})
		if err != nil {
			return "", nil, fmt.Errorf("snmp %s: walk %s: %w", tg.Addr, col, err)
		}
	}
	out := make([]flow.Interface, 0, len(byIndex))
	for _, it := range byIndex {
		out = append(out, *it)
	}
	return sysName, out, nil
}

func indexOf(name, col string) (uint32, bool) {
	rest, ok := strings.CutPrefix(name, col+".")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(rest, 10, 32)
	return uint32(n), err == nil
}

func str(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return ""
}
