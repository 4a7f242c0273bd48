// Package vcenter polls a VMware vCenter (or ESXi host) for the addresses of
// its VMs, with their host, cluster and datacenter.
package vcenter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/flowlake/flowlake/internal/component"
	"github.com/flowlake/flowlake/internal/enrich/inventory"
)

// Config locates the vCenter.
type Config struct {
	URL      string `yaml:"url"` // https://vcenter.example/sdk
	User     string `yaml:"user"`
	Password string `yaml:"password"`
	// Insecure skips TLS certificate verification (lab vCenters with
	// self-signed certificates).
	Insecure bool `yaml:"insecure"`
	// Interval between polls (0: the default, 5m).
	Interval time.Duration `yaml:"interval"`
}

// DefaultConfig polls every five minutes once a URL is set.
func DefaultConfig() Config { return Config{Interval: 5 * time.Minute} }

// Validate checks the URL (when set) and the interval.
func (c Config) Validate() error {
	if c.Interval < 0 {
		return errors.New("interval: must not be negative")
	}
	if c.URL == "" {
		return nil
	}
	if u, err := url.Parse(c.URL); err != nil || u.Host == "" {
		return fmt.Errorf("url: %q: want https://host/sdk", c.URL)
	}
	return nil
}

// Dependencies are what a running Poller needs besides its Config.
type Dependencies struct {
	// Update receives each complete inventory with the time it was read.
	Update func([]inventory.Entry, time.Time)
	Logger *slog.Logger
}

// Poller reads the VM inventory of one vCenter. It is a component: from
// Start until Stop it polls now and then every Interval.
type Poller struct {
	cfg  Config
	deps Dependencies
	u    *url.URL
	loop *component.Loop
}

// New checks cfg; polling starts with Start (Poll works at once).
func New(cfg Config, deps Dependencies) (*Poller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("vcenter: %w", err)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("vcenter: bad url %q: %v", cfg.URL, err)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/sdk"
	}
	if cfg.User != "" {
		u.User = url.UserPassword(cfg.User, cfg.Password)
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultConfig().Interval
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	p := &Poller{cfg: cfg, deps: deps, u: u}
	p.loop = component.NewLoop(p.run)
	return p, nil
}

// Start starts polling.
func (p *Poller) Start() error {
	if p.deps.Update == nil {
		return errors.New("vcenter: no Update to hand inventories to")
	}
	return p.loop.Start()
}

// Stop stops polling, interrupting a poll in progress.
func (p *Poller) Stop() error { return p.loop.Stop() }

// run polls now and then every Interval until ctx ends. A failed poll is
// logged and leaves the previous inventory in place.
func (p *Poller) run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		es, err := p.Poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			p.deps.Logger.Warn("vcenter poll failed", "url", p.u.Redacted(), "err", err)
		} else {
			p.deps.Update(es, time.Now())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Poll logs in, reads every VM's addresses, host, cluster and datacenter,
// and logs out.
func (p *Poller) Poll(ctx context.Context) ([]inventory.Entry, error) {
	c, err := govmomi.NewClient(ctx, p.u, p.cfg.Insecure)
	if err != nil {
		return nil, fmt.Errorf("vcenter %s: login: %w", p.u.Redacted(), err)
	}
	defer func() { _ = c.Logout(context.WithoutCancel(ctx)) }()
	dcs, err := find.NewFinder(c.Client).DatacenterList(ctx, "*")
	if err != nil {
		return nil, fmt.Errorf("vcenter %s: datacenters: %w", p.u.Redacted(), err)
	}
	m := view.NewManager(c.Client)
	var out []inventory.Entry
	for _, dc := range dcs {
		retrieve := func(kind string, props []string, dst any) error {
			v, err := m.CreateContainerView(ctx, dc.Reference(), []string{kind}, true)
			if err != nil {
				return err
			}
			defer func() { _ = v.Destroy(context.WithoutCancel(ctx)) }()
			return v.Retrieve(ctx, []string{kind}, props, dst)
		}
		var clusters []mo.ClusterComputeResource
		if err := retrieve("ClusterComputeResource", []string{"name"}, &clusters); err != nil {
			return nil, fmt.Errorf("vcenter %s: clusters: %w", p.u.Redacted(), err)
		}
		clusterName := map[types.ManagedObjectReference]string{}
		for _, cl := range clusters {
			clusterName[cl.Self] = cl.Name
		}
		var hosts []mo.HostSystem
		if err := retrieve("HostSystem", []string{"name", "parent"}, &hosts); err != nil {
			return nil, fmt.Errorf("vcenter %s: hosts: %w", p.u.Redacted(), err)
		}
		type hostInfo struct{ name, cluster string }
		hostOf := map[types.ManagedObjectReference]hostInfo{}
		for _, h := range hosts {
			hi := hostInfo{name: h.Name}
			if h.Parent != nil {
				hi.cluster = clusterName[*h.Parent]
			}
			hostOf[h.Self] = hi
		}
		var vms []mo.VirtualMachine
		if err := retrieve("VirtualMachine", []string{"name", "guest.ipAddress", "guest.net", "runtime.host"}, &vms); err != nil {
			return nil, fmt.Errorf("vcenter %s: vms: %w", p.u.Redacted(), err)
		}
		for _, vm := range vms {
			var hi hostInfo
			if vm.Runtime.Host != nil {
				hi = hostOf[*vm.Runtime.Host]
			}
			seen := map[netip.Addr]bool{}
			add := func(s string) {
				a, err := netip.ParseAddr(s)
				if err != nil || seen[a.Unmap()] {
					return
				}
				seen[a.Unmap()] = true
				out = append(out, inventory.Entry{Addr: a.Unmap(), Name: vm.Name, Host: hi.name, Cluster: hi.cluster, Datacenter: dc.Name()})
			}
			if vm.Guest != nil {
				add(vm.Guest.IpAddress)
				for _, nic := range vm.Guest.Net {
					for _, ip := range nic.IpAddress {
						add(ip)
					}
				}
			}
		}
	}
	return out, nil
}
