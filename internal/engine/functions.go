package engine

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/netip"

	"github.com/duckdb/duckdb-go/v2"
)

// registerFunctions adds the address helpers to the database:
//
//	ip('10.1.1.8') / ip('2001:db8::1') → 16-byte BLOB as stored in the lake
//	ip_str(src_addr)                   → '10.1.1.8' ('' for the absent address)
//
// so that `WHERE src_addr = ip('10.1.1.8')` reads naturally. ip() is not
// volatile: DuckDB folds ip('...') into a constant before filter pushdown,
// so the comparison still prunes row groups by statistics.
func registerFunctions(c *sql.Conn) error {
	varchar, err := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	if err != nil {
		return err
	}
	blob, err := duckdb.NewTypeInfo(duckdb.TYPE_BLOB)
	if err != nil {
		return err
	}
	if err := duckdb.RegisterScalarUDF(c, "ip", &scalarFunc{
		cfg: duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{varchar}, ResultTypeInfo: blob},
		fn:  ipValue,
	}); err != nil {
		return fmt.Errorf("ip: %w", err)
	}
	if err := duckdb.RegisterScalarUDF(c, "ip_str", &scalarFunc{
		cfg: duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{blob}, ResultTypeInfo: varchar},
		fn:  ipString,
	}); err != nil {
		return fmt.Errorf("ip_str: %w", err)
	}
	return nil
}

type scalarFunc struct {
	cfg duckdb.ScalarFuncConfig
	fn  func([]driver.Value) (any, error)
}

func (f *scalarFunc) Config() duckdb.ScalarFuncConfig { return f.cfg }
func (f *scalarFunc) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: f.fn}
}

// ipValue parses an IPv4 or IPv6 address into the lake's 16-byte form.
func ipValue(v []driver.Value) (any, error) {
	s, _ := v[0].(string)
	a, err := netip.ParseAddr(s)
	if err != nil {
		return nil, fmt.Errorf("ip(%q): not an IP address", s)
	}
	b := a.As16()
	return b[:], nil
}

// ipString formats a 16-byte address; see AddrString.
func ipString(v []driver.Value) (any, error) {
	b, _ := v[0].([]byte)
	s, ok := AddrString(b)
	if !ok {
		return nil, fmt.Errorf("ip_str: %d-byte value is not an address", len(b))
	}
	return s, nil
}

// AddrString formats a lake address (16 bytes, IPv4-mapped) as text: IPv4
// in dotted form, "" for the all-zero "absent" address. ok is false when b
// is not 16 bytes long.
func AddrString(b []byte) (s string, ok bool) {
	if len(b) != 16 {
		return "", false
	}
	a := netip.AddrFrom16([16]byte(b))
	if a.IsUnspecified() {
		return "", true
	}
	return a.Unmap().String(), true
}
