package enrich

import (
	"context"
	"testing"
	"time"

	"github.com/vmware/govmomi/simulator"

	"github.com/flowlake/flowlake/internal/enrich/vcenter"
	"github.com/flowlake/flowlake/internal/enrich/vcenter/vcentertest"
	"github.com/flowlake/flowlake/internal/flow"
)

// TestVCenterRename runs the enricher against govmomi's vCenter simulator:
// a VM is renamed mid-test; flows before keep the old name, flows after get
// the new one, and the inventory history shows both.
func TestVCenterRename(t *testing.T) {
	model := simulator.VPX()
	sim := vcentertest.Start(t, model)
	ctx := context.Background()
	sim.SetGuestIP(t, "DC0_H0_VM0", "10.30.0.7")
	vm := sim.VM(t, "DC0_H0_VM0")

	e, err := New(Config{
		VCenter: vcenter.Config{URL: sim.URL, User: sim.User, Password: sim.Password, Interval: 20 * time.Millisecond},
	}, Dependencies{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	defer e.Stop()

	waitName := func(name string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			for _, r := range e.Tables().Inventory {
				if r.Addr == "10.30.0.7" && r.Name == name && r.ValidTo == 0 {
					return
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("inventory never showed 10.30.0.7 as %s: %+v", name, e.Tables().Inventory)
	}
	enrichAt := func(at time.Time) string {
		var b flow.Batch
		b.Append(flowOf("10.30.0.7", "8.8.8.8", 6, 40000, 443, at))
		e.Enrich(&b)
		return b.SrcVM[0]
	}

	waitName("DC0_H0_VM0")
	before := time.Now()
	if got := enrichAt(before); got != "DC0_H0_VM0" {
		t.Fatalf("before rename: %q", got)
	}
	task, err := vm.Rename(ctx, "renamed-web")
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	waitName("renamed-web")
	if got := enrichAt(time.Now()); got != "renamed-web" {
		t.Errorf("after rename: %q", got)
	}
	// A flow from before the rename, enriched late (a delayed export),
	// still gets the name of its time.
	if got := enrichAt(before); got != "DC0_H0_VM0" {
		t.Errorf("flow from before the rename: %q", got)
	}
	var names []string
	for _, r := range e.Tables().Inventory {
		if r.Addr == "10.30.0.7" {
			names = append(names, r.Name)
			if r.Host == "" || r.Datacenter != "DC0" || r.Source != "vcenter" {
				t.Errorf("history row %+v", r)
			}
		}
	}
	if len(names) != 2 || names[0] != "DC0_H0_VM0" || names[1] != "renamed-web" {
		t.Errorf("history %v, want old then new name", names)
	}
}
