package enrich

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/flowlake/flowlake/internal/enrich/snmp"
	"github.com/flowlake/flowlake/internal/enrich/vcenter"
)

// Config selects and locates the enrichment sources. Every source is
// optional: an empty path or URL leaves it out.
type Config struct {
	GeoIP GeoIPConfig `yaml:"geoip"`
	// Networks is a YAML (.yaml/.yml) or CSV file of prefixes and names.
	Networks string `yaml:"networks"`
	// Inventory is a CSV or JSON (.json) file of address -> VM name, host...
	Inventory string `yaml:"inventory"`
	// VCenter polls a vCenter for the addresses of its VMs.
	VCenter vcenter.Config `yaml:"vcenter"`
	// SNMP polls exporters for their interface names.
	SNMP snmp.Config `yaml:"snmp"`
	// Exporters names exporters and their interfaces; these names win over
	// what SNMP or the exporters themselves report.
	Exporters []ExporterConfig `yaml:"exporters"`
	// ReloadInterval is how often files are checked for changes (0: the
	// default, 10s).
	ReloadInterval time.Duration `yaml:"reload_interval"`
}

// DefaultConfig enables no source; it holds the defaults of the sources'
// settings. A zero setting also reads as its default here.
func DefaultConfig() Config {
	return Config{
		VCenter:        vcenter.DefaultConfig(),
		SNMP:           snmp.DefaultConfig(),
		ReloadInterval: 10 * time.Second,
	}
}

// Validate checks every setting; errors name the key. Files are checked by
// New, which loads them.
func (c Config) Validate() error {
	var errs []error
	if c.ReloadInterval < 0 {
		errs = append(errs, errors.New("reload_interval: must not be negative"))
	}
	if err := c.VCenter.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("vcenter.%w", err))
	}
	if err := c.SNMP.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("snmp.%w", err))
	}
	for i, ec := range c.Exporters {
		if _, err := netip.ParseAddr(ec.Addr); err != nil {
			errs = append(errs, fmt.Errorf("exporters[%d].addr: %q: not an IP address", i, ec.Addr))
		}
	}
	return errors.Join(errs...)
}

// GeoIPConfig locates MaxMind-format databases. Country and ASN may name the
// same file when one database holds both (IPinfo country_asn).
type GeoIPConfig struct {
	Country string `yaml:"country"`
	ASN     string `yaml:"asn"`
}

// ExporterConfig names one exporter and, optionally, its interfaces.
type ExporterConfig struct {
	Addr       string            `yaml:"addr"`
	Name       string            `yaml:"name"`
	Interfaces map[uint32]string `yaml:"interfaces"` // ifIndex -> name
}
