// Package vcenter polls a VMware vCenter (or ESXi host) for the addresses of
// its VMs, with their host, cluster and datacenter.
package vcenter

import (
	"context"
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
	// Interval between polls (default 5m).
	Interval time.Duration `yaml:"interval"`
}

// Poller reads the VM inventory of one vCenter.
type Poller struct {
	cfg Config
	u   *url.URL
}

// NewPoller checks cfg.
func NewPoller(cfg Config) (*Poller, error) {
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
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Minute
	}
	return &Poller{cfg: cfg, u: u}, nil
}

// Run polls now and then every Interval until ctx ends, handing each
// complete inventory to update with the time it was read. A failed poll is
// logged and leaves the previous inventory in place.
func (p *Poller) Run(ctx context.Context, update func([]inventory.Entry, time.Time), log *slog.Logger) {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		es, err := p.Poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("vcenter poll failed", "url", p.u.Redacted(), "err", err)
		} else {
			update(es, time.Now())
		}
		select {
		case <-ctx.Done():
			return
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
