// Package vcentertest runs govmomi's vCenter simulator for tests and gives
// them a client and what the poller needs to log in.
package vcentertest

import (
	"context"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// Sim is a running simulator.
type Sim struct {
	Client *govmomi.Client
	// URL (https://host/sdk), User and Password log a poller in.
	URL, User, Password string
}

// Start creates model's inventory, serves it on loopback until the test
// ends and logs a client in.
func Start(t testing.TB, model *simulator.Model) *Sim {
	t.Helper()
	if err := model.Create(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(model.Remove)
	s := model.Service.NewServer()
	t.Cleanup(s.Close)
	c, err := govmomi.NewClient(context.Background(), s.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := s.URL.User.Password()
	return &Sim{Client: c, URL: s.URL.Scheme + "://" + s.URL.Host + "/sdk", User: s.URL.User.Username(), Password: pass}
}

// VM finds a virtual machine of the default datacenter by name.
func (s *Sim) VM(t testing.TB, name string) *object.VirtualMachine {
	t.Helper()
	ctx := context.Background()
	f := find.NewFinder(s.Client.Client, true)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := f.SetDatacenter(dc).VirtualMachine(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

// SetGuestIP gives a simulated VM a guest IP address through the real
// Reconfigure API (the simulator applies "SET.guest.ipAddress").
func (s *Sim) SetGuestIP(t testing.TB, vmName, ip string) {
	t.Helper()
	ctx := context.Background()
	task, err := s.VM(t, vmName).Reconfigure(ctx, types.VirtualMachineConfigSpec{
		ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: "SET.guest.ipAddress", Value: ip}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}
