package engine

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// FormatValue renders a result value for people: 16-byte BLOBs as IP
// addresses (the lake's address form), other BLOBs as 0x-hex, times in
// RFC 3339 UTC, NULL as "".
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		if s, ok := AddrString(x); ok {
			return s
		}
		return "0x" + hex.EncodeToString(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *big.Int:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// JSONValue converts a result value into one encoding/json renders well:
// addresses and other BLOBs as strings (FormatValue), integers and floats
// as numbers, times as RFC 3339 strings; lists and structs recursively.
func JSONValue(v any) any {
	switch x := v.(type) {
	case nil, bool, string,
		int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint:
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return FormatValue(x) // JSON has no NaN or Infinity
		}
		return x
	case float32:
		return JSONValue(float64(x))
	case *big.Int:
		// json renders *big.Int as a number, exact.
		return x
	case duckdb.Decimal:
		// Exact, as a number (avg() returns DOUBLE, but sums of DECIMALs
		// and literals like 1.5 are DECIMAL).
		return json.Number(x.String())
	case []byte, time.Time:
		return FormatValue(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = JSONValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = JSONValue(e)
		}
		return out
	}
	return FormatValue(v)
}
