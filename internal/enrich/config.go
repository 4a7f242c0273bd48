package enrich

import (
	"log/slog"
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
	// ReloadInterval is how often files are checked for changes (default 10s).
	ReloadInterval time.Duration `yaml:"reload_interval"`
	// Logger receives reload reports (default slog.Default()).
	Logger *slog.Logger `yaml:"-"`
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
