package vcenter

import (
	"context"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/flowlake/flowlake/internal/enrich/inventory"
)

// setGuestIP gives a simulated VM a guest IP address through the real
// Reconfigure API (the simulator applies "SET.guest.ipAddress").
func setGuestIP(t *testing.T, c *govmomi.Client, vmName, ip string) {
	t.Helper()
	ctx := context.Background()
	f := find.NewFinder(c.Client, true)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := f.SetDatacenter(dc).VirtualMachine(ctx, vmName)
	if err != nil {
		t.Fatal(err)
	}
	task, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{
		ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: "SET.guest.ipAddress", Value: ip}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPollSimulator(t *testing.T) {
	model := simulator.VPX()
	model.Datacenter = 1
	model.Cluster = 1
	model.Host = 1
	defer model.Remove()
	if err := model.Create(); err != nil {
		t.Fatal(err)
	}
	s := model.Service.NewServer()
	defer s.Close()
	ctx := context.Background()
	c, err := govmomi.NewClient(ctx, s.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	setGuestIP(t, c, "DC0_C0_RP0_VM0", "10.20.0.5")
	setGuestIP(t, c, "DC0_H0_VM0", "10.20.0.6")

	pass, _ := s.URL.User.Password()
	p, err := New(Config{URL: s.URL.Scheme + "://" + s.URL.Host + "/sdk", User: s.URL.User.Username(), Password: pass, Insecure: true}, Dependencies{})
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
