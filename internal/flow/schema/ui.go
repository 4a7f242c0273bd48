package schema

// Role is what a column is to rollups and charts.
type Role uint8

// Roles.
const (
	// Dimension columns are grouped and filtered on (the default).
	Dimension Role = iota
	// Metric columns are summed.
	Metric
	// Timestamp columns are time axes.
	Timestamp
)

func (r Role) String() string { return [...]string{"dimension", "metric", "timestamp"}[r] }

// Kind is how the UI shows a column and which filters it offers.
type Kind uint8

// UI kinds.
const (
	KindDefault Kind = iota // UIKind derives it from Type and Role
	// Address: IP or MAC address (prefix filters, reverse lookups).
	Address
	// Port: transport port (service names).
	Port
	// Name: free text (equality, contains).
	Name
	// EnumKind: one of the column's Values.
	EnumKind
	// Counter: a summed metric, shown with its Unit.
	Counter
	// TimeKind: an instant.
	TimeKind
	// Number: a code or identifier shown as a number (AS, VLAN, ifIndex).
	Number
)

func (k Kind) String() string {
	return [...]string{"", "address", "port", "name", "enum", "counter", "time", "number"}[k]
}

// UIKind is the column's Kind, derived from its Type and Role unless set.
func (c Column) UIKind() Kind {
	switch {
	case c.Kind != KindDefault:
		return c.Kind
	case c.Role == Metric:
		return Counter
	}
	switch c.Type {
	case Time:
		return TimeKind
	case Addr, MAC:
		return Address
	case String:
		return Name
	case Enum:
		return EnumKind
	}
	return Number
}

// Groupable reports whether the UI offers the column to group by: every
// dimension.
func (c Column) Groupable() bool { return c.Role == Dimension }

// Filterable reports whether the UI offers the column in filters: every
// column but the time axes, which the time window filters.
func (c Column) Filterable() bool { return c.Role != Timestamp }

// RollupDimensions lists the columns the default rollups keep.
func RollupDimensions() []Column {
	var cols []Column
	for _, c := range Columns {
		if c.Rollup {
			cols = append(cols, c)
		}
	}
	return cols
}
