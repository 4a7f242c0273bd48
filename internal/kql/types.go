package kql

// Type is the KQL type of a column or expression, named as KQL names it.
type Type string

// Types. IP is flowlake's address type: a 16-byte value inside the query
// (IPv4 mapped into IPv6) that is formatted to text in the final result.
const (
	TBool     Type = "bool"
	TLong     Type = "long"
	TReal     Type = "real"
	TString   Type = "string"
	TDatetime Type = "datetime"
	TTimespan Type = "timespan"
	TIP       Type = "ip"
	TDynamic  Type = "dynamic"
	// TNull is the type of the null literal; it converts to any type.
	TNull Type = "null"
)

func (t Type) numeric() bool { return t == TLong || t == TReal }

// Column is one output column of a compiled query. Type is the KQL type;
// an IP column arrives from the database already formatted as text.
type Column struct {
	Name string
	Type Type
}
