package vcenter

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/simulator"

	"github.com/flowlake/flowlake/internal/enrich/inventory"
	"github.com/flowlake/flowlake/internal/enrich/vcenter/vcentertest"
)

func TestPollSimulator(t *testing.T) {
	model := simulator.VPX()
	model.Datacenter = 1
	model.Cluster = 1
	model.Host = 1
	sim := vcentertest.Start(t, model)
	ctx := context.Background()
	sim.SetGuestIP(t, "DC0_C0_RP0_VM0", "10.20.0.5")
	sim.SetGuestIP(t, "DC0_H0_VM0", "10.20.0.6")

	p, err := New(Config{URL: sim.URL, User: sim.User, Password: sim.Password, Insecure: true}, Dependencies{})
	if err != nil {
		t.Fatal(err)
	}
	es, err := p.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byAddr := map[string]inventory.Entry{}
	for _, e := range es {
		byAddr[e.Addr.String()] = e
	}
	got := byAddr["10.20.0.5"]
	if got.Name != "DC0_C0_RP0_VM0" || got.Host == "" || got.Cluster != "DC0_C0" || got.Datacenter != "DC0" {
		t.Errorf("10.20.0.5 = %+v", got)
	}
	if got := byAddr["10.20.0.6"]; got.Name != "DC0_H0_VM0" || got.Host != "DC0_H0" || got.Cluster != "" || got.Datacenter != "DC0" {
		t.Errorf("10.20.0.6 = %+v", got)
	}

	// A vCenter that is not there is an error, not a hang or empty success.
	bad, _ := New(Config{URL: "http://127.0.0.1:1/sdk", User: "u", Password: "p"}, Dependencies{})
	if _, err := bad.Poll(ctx); err == nil {
		t.Error("poll of a closed port succeeded")
	}
	if _, err := New(Config{URL: "::bad"}, Dependencies{}); err == nil {
		t.Error("bad url accepted")
	}
}

func TestDefaultConfigValidates(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}
