package netflow

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"sort"
)

// stateVersion is the version of the SaveTemplates format.
const stateVersion = 1

type savedState struct {
	Format  string        `json:"format"`
	Version int           `json:"version"`
	Domains []savedDomain `json:"domains"`
}

type savedDomain struct {
	Exporter    netip.Addr        `json:"exporter"`
	Version     uint16            `json:"version"`
	Domain      uint32            `json:"domain"`
	Templates   []savedTemplate   `json:"templates,omitempty"`
	Samplers    map[uint64]uint32 `json:"samplers,omitempty"`
	DefaultRate uint32            `json:"default_rate,omitempty"`
	SysInitMs   uint64            `json:"sys_init_ms,omitempty"`
	AppNames    []savedAppName    `json:"app_names,omitempty"`
}

type savedTemplate struct {
	ID      uint16   `json:"id"`
	Options bool     `json:"options,omitempty"`
	Scopes  int      `json:"scopes,omitempty"`
	Fields  []tfield `json:"fields"`
}

type savedAppName struct {
	ID   []byte `json:"id"`
	Name string `json:"name"`
}

// SaveTemplates writes the templates, options templates, sampler tables and
// application names of every exporter observation domain to w, so that a
// restarted collector decodes data sets at once instead of waiting for the
// exporters to resend templates.
func (d *Decoder) SaveTemplates(w io.Writer) error {
	st := savedState{Format: "flowlake-netflow-templates", Version: stateVersion}
	d.mu.RLock()
	doms := make([]*domain, 0, len(d.domains))
	for _, dom := range d.domains {
		doms = append(doms, dom)
	}
	d.mu.RUnlock()
	for _, dom := range doms {
		dom.mu.Lock()
		sd := savedDomain{
			Exporter: dom.key.addr, Version: dom.key.version, Domain: dom.key.id,
			DefaultRate: dom.defaultRate, SysInitMs: dom.sysInitMs,
		}
		if len(dom.samplers) > 0 {
			sd.Samplers = make(map[uint64]uint32, len(dom.samplers))
			for k, v := range dom.samplers {
				sd.Samplers[k] = v
			}
		}
		for _, t := range dom.templates {
			sd.Templates = append(sd.Templates, savedTemplate{ID: t.id, Options: t.options, Scopes: t.scopes, Fields: t.fields})
		}
		for k, v := range dom.appNames {
			sd.AppNames = append(sd.AppNames, savedAppName{ID: []byte(k), Name: v})
		}
		dom.mu.Unlock()
		if len(sd.Templates) == 0 && len(sd.Samplers) == 0 && sd.DefaultRate == 0 && len(sd.AppNames) == 0 && sd.SysInitMs == 0 {
			continue
		}
		sort.Slice(sd.Templates, func(i, j int) bool { return sd.Templates[i].ID < sd.Templates[j].ID })
		sort.Slice(sd.AppNames, func(i, j int) bool { return string(sd.AppNames[i].ID) < string(sd.AppNames[j].ID) })
		st.Domains = append(st.Domains, sd)
	}
	sort.Slice(st.Domains, func(i, j int) bool {
		a, b := st.Domains[i], st.Domains[j]
		if c := a.Exporter.Compare(b.Exporter); c != 0 {
			return c < 0
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Domain < b.Domain
	})
	enc := json.NewEncoder(w)
	if err := enc.Encode(&st); err != nil {
		return fmt.Errorf("save netflow templates: %w", err)
	}
	return nil
}

// LoadTemplates reads state written by SaveTemplates, adding it to the
// decoder's (loaded templates replace known ones with the same id). The
// configured limits apply to loaded state as to received templates.
func (d *Decoder) LoadTemplates(r io.Reader) error {
	var st savedState
	if err := json.NewDecoder(r).Decode(&st); err != nil {
		return fmt.Errorf("load netflow templates: %w", err)
	}
	if st.Format != "flowlake-netflow-templates" || st.Version != stateVersion {
		return fmt.Errorf("load netflow templates: unsupported format %q version %d", st.Format, st.Version)
	}
	for _, sd := range st.Domains {
		if sd.Version != 9 && sd.Version != 10 && sd.Version != 5 {
			return fmt.Errorf("load netflow templates: exporter %s: version %d", sd.Exporter, sd.Version)
		}
		if len(sd.Templates) > d.cfg.MaxTemplatesPerDomain {
			return fmt.Errorf("load netflow templates: exporter %s domain %d: %d templates (limit %d)", sd.Exporter, sd.Domain, len(sd.Templates), d.cfg.MaxTemplatesPerDomain)
		}
		compiled := make([]*template, 0, len(sd.Templates))
		for _, st := range sd.Templates {
			if st.ID < 256 || (st.Options && (st.Scopes < 0 || st.Scopes > len(st.Fields))) {
				return fmt.Errorf("load netflow templates: exporter %s domain %d: bad template %d", sd.Exporter, sd.Domain, st.ID)
			}
			t, err := d.compile(sd.Version, st.ID, st.Options, st.Scopes, st.Fields)
			if err != nil {
				return fmt.Errorf("load netflow templates: exporter %s domain %d: %w", sd.Exporter, sd.Domain, err)
			}
			compiled = append(compiled, t)
		}
		dom, err := d.domain(sd.Exporter, sd.Version, sd.Domain)
		if err != nil {
			return fmt.Errorf("load netflow templates: %w", err)
		}
		dom.mu.Lock()
		for _, t := range compiled {
			if err := d.store(dom, t); err != nil {
				dom.mu.Unlock()
				return fmt.Errorf("load netflow templates: exporter %s domain %d: %w", sd.Exporter, sd.Domain, err)
			}
		}
		for k, v := range sd.Samplers {
			if len(dom.samplers) < maxSamplers {
				dom.samplers[k] = v
			}
		}
		if sd.DefaultRate > 0 {
			dom.defaultRate = sd.DefaultRate
		}
		if sd.SysInitMs > 0 {
			dom.sysInitMs = sd.SysInitMs
		}
		for _, a := range sd.AppNames {
			if len(dom.appNames) < maxAppNames {
				dom.appNames[string(a.ID)] = a.Name
			}
		}
		dom.mu.Unlock()
	}
	return nil
}
