package schema

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/flowlake/flowlake/internal/testenv"
)

func TestColumnsComplete(t *testing.T) {
	names := map[string]bool{}
	for _, c := range Columns {
		if names[c.Name] {
			t.Errorf("%s: two columns of that name", c.Name)
		}
		names[c.Name] = true
		if c.Label == "" {
			t.Errorf("%s: no UI label", c.Name)
		}
		if c.UIKind() == KindDefault {
			t.Errorf("%s: no UI kind", c.Name)
		}
		if c.Role == Metric && (c.Unit == "" || c.UIKind() != Counter) {
			t.Errorf("%s: a metric needs a unit and the counter kind", c.Name)
		}
		if (c.Type == Time) != (c.Role == Timestamp) {
			t.Errorf("%s: time columns, and only they, are time axes", c.Name)
		}
		if c.Rollup && (c.Role != Dimension || c.Type == Addr && c.Name != "exporter_addr" || c.UIKind() == Port || c.HighCard) {
			t.Errorf("%s: a default rollup dimension must be a low-cardinality dimension", c.Name)
		}
		if c.HighCard && c.Type != String {
			t.Errorf("%s: HighCard is for String columns", c.Name)
		}
		if p := c.Parquet(); p.Kind == 0 {
			t.Errorf("%s: no Parquet layout", c.Name)
		}
	}
	if len(RollupDimensions()) == 0 {
		t.Error("no default rollup dimensions")
	}
}

// TestProtoNumbers: every column has a field number of its own, valid in
// protobuf, and none is a reserved (removed column's) number or name.
func TestProtoNumbers(t *testing.T) {
	reserved := map[int]string{}
	reservedName := map[string]bool{}
	for _, r := range ReservedProto {
		if _, dup := reserved[r.Number]; dup {
			t.Errorf("reserved number %d listed twice", r.Number)
		}
		reserved[r.Number] = r.Name
		reservedName[r.Name] = true
	}
	seen := map[int]string{}
	for _, c := range Columns {
		n := c.Proto
		switch {
		case n < 1 || n > 1<<29-1 || (n >= 19000 && n <= 19999):
			t.Errorf("%s: field number %d is not a valid protobuf field number", c.Name, n)
		case seen[n] != "":
			t.Errorf("%s: field number %d already belongs to %s", c.Name, n, seen[n])
		case reserved[n] != "":
			t.Errorf("%s: field number %d was %s's, and is reserved", c.Name, n, reserved[n])
		case reservedName[c.Name]:
			t.Errorf("%s: the name of a removed column is reserved", c.Name)
		}
		seen[n] = c.Name
	}
}

func protoPath(t *testing.T) string {
	return filepath.Join(testenv.Root(t), "proto", "flowlake", "v1", "flow.proto")
}

// TestProtoFileCurrent: the committed flow.proto is what the schema
// generates (run `go generate ./internal/flow/schema` after changing it).
func TestProtoFileCurrent(t *testing.T) {
	got, err := os.ReadFile(protoPath(t))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != ProtoFile() {
		t.Fatal("proto/flowlake/v1/flow.proto is stale: run go generate ./internal/flow/schema")
	}
}

// TestProtoFileCompiles compiles flow.proto with protoc and checks each
// field of the descriptor protoc made against the schema: number, name and
// wire type.
func TestProtoFileCompiles(t *testing.T) {
	protoc := testenv.LookPath(t, "protoc")
	out := filepath.Join(t.TempDir(), "flow.desc")
	path := protoPath(t)
	cmd := exec.Command(protoc, "-I", filepath.Dir(path), "--descriptor_set_out="+out, filepath.Base(path))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.File) != 1 || len(set.File[0].MessageType) != 1 {
		t.Fatalf("descriptor: %d files", len(set.File))
	}
	msg := set.File[0].MessageType[0]
	if msg.GetName() != "Flow" || set.File[0].GetPackage() != "flowlake.v1" {
		t.Fatalf("message %s.%s", set.File[0].GetPackage(), msg.GetName())
	}
	// The wire type each schema type must get, written out here rather
	// than taken from ProtoType.
	want := map[Type]descriptorpb.FieldDescriptorProto_Type{
		Uint8: descriptorpb.FieldDescriptorProto_TYPE_UINT32, Uint16: descriptorpb.FieldDescriptorProto_TYPE_UINT32,
		Uint32: descriptorpb.FieldDescriptorProto_TYPE_UINT32, Uint64: descriptorpb.FieldDescriptorProto_TYPE_UINT64,
		MAC: descriptorpb.FieldDescriptorProto_TYPE_UINT64, Time: descriptorpb.FieldDescriptorProto_TYPE_INT64,
		Addr: descriptorpb.FieldDescriptorProto_TYPE_BYTES, String: descriptorpb.FieldDescriptorProto_TYPE_STRING,
		Enum: descriptorpb.FieldDescriptorProto_TYPE_ENUM,
	}
	if len(msg.Field) != len(Columns) {
		t.Fatalf("%d fields, schema has %d columns", len(msg.Field), len(Columns))
	}
	enums := map[string]*descriptorpb.EnumDescriptorProto{}
	for _, e := range msg.EnumType {
		enums[".flowlake.v1.Flow."+e.GetName()] = e
	}
	for i, c := range Columns {
		f := msg.Field[i]
		if f.GetName() != c.Name || int(f.GetNumber()) != c.Proto || f.GetType() != want[c.Type] {
			t.Errorf("field %d: %s = %d (%v), want %s = %d (%v)", i, f.GetName(), f.GetNumber(), f.GetType(), c.Name, c.Proto, want[c.Type])
		}
		if c.Type != Enum {
			continue
		}
		e := enums[f.GetTypeName()]
		if e == nil || len(e.Value) != len(c.Values) {
			t.Errorf("%s: enum %s does not have the column's %d values", c.Name, f.GetTypeName(), len(c.Values))
			continue
		}
		for j, v := range e.Value {
			if int(v.GetNumber()) != j || !strings.HasSuffix(v.GetName(), strings.ToUpper(strings.NewReplacer("-", "_").Replace(c.Values[j]))) {
				t.Errorf("%s: enum value %d is %s = %d, want %q", c.Name, j, v.GetName(), v.GetNumber(), c.Values[j])
			}
		}
	}
	for _, r := range ReservedProto {
		found := false
		for _, rr := range msg.ReservedRange {
			found = found || (int(rr.GetStart()) <= r.Number && r.Number < int(rr.GetEnd()))
		}
		if !found {
			t.Errorf("reserved number %d not reserved in flow.proto", r.Number)
		}
	}
}

var columnLine = regexp.MustCompile("^    `([a-z_0-9]+)` (.*[^,]),?$")

// ddlColumns returns the column names and types of a CREATE TABLE statement
// as CreateTable lays it out, one column a line.
func ddlColumns(t *testing.T, ddl string) (names, types []string) {
	t.Helper()
	for _, line := range strings.Split(ddl, "\n") {
		if m := columnLine.FindStringSubmatch(line); m != nil {
			names = append(names, m[1])
			types = append(types, m[2])
		}
	}
	if len(names) != len(Columns) {
		t.Fatalf("%d column lines, schema has %d columns:\n%s", len(names), len(Columns), ddl)
	}
	for i, c := range Columns {
		if names[i] != c.Name {
			t.Fatalf("column %d is %s, want %s", i, names[i], c.Name)
		}
	}
	return names, types
}

func TestClickHouseOld(t *testing.T) {
	ddl := ClickHouse1816.CreateTable("flows", 30)
	_, types := ddlColumns(t, ddl)
	for _, banned := range []string{"LowCardinality", "IPv6", "CODEC", "TTL", "DateTime64", "COMMENT"} {
		if strings.Contains(ddl, banned) {
			t.Errorf("18.16 has no %s:\n%s", banned, ddl)
		}
	}
	for i, c := range Columns {
		want := map[Type]string{Uint8: "UInt8", Uint16: "UInt16", Uint32: "UInt32", Uint64: "UInt64", MAC: "UInt64",
			Time: "DateTime('UTC')", Addr: "FixedString(16)", String: "String"}[c.Type]
		if c.Type == Enum {
			want = "Enum8("
		}
		if !strings.HasPrefix(types[i], want) {
			t.Errorf("%s: type %s, want %s", c.Name, types[i], want)
		}
	}
	if !strings.Contains(ddl, "ORDER BY (toStartOfHour(time_received), exporter_addr, dst_addr, src_addr)") {
		t.Errorf("sort key:\n%s", ddl)
	}
}

func TestClickHouseCurrent(t *testing.T) {
	ddl := ClickHouseCurrent.CreateTable("flows", 30)
	_, types := ddlColumns(t, ddl)
	for i, c := range Columns {
		typ := types[i]
		var want string
		switch {
		case c.Type == String && c.HighCard:
			want = "String COMMENT" // high cardinality
		case c.Type == String:
			want = "LowCardinality(String) COMMENT"
		case c.Type == Addr:
			want = "IPv6 CODEC(ZSTD(1))"
		case c.Type == Time:
			want = "DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1))"
		case c.Role == Metric:
			want = "UInt64 CODEC(T64, ZSTD(1))"
		}
		if !strings.HasPrefix(typ, want) {
			t.Errorf("%s: %s, want %s", c.Name, typ, want)
		}
		if !strings.Contains(typ, " COMMENT '") {
			t.Errorf("%s: no comment", c.Name)
		}
	}
	if !strings.HasSuffix(ddl, "\nTTL toDateTime(time_received) + INTERVAL 30 DAY") {
		t.Errorf("no TTL:\n%s", ddl)
	}
	if strings.Contains(ClickHouseCurrent.CreateTable("flows", 0), "TTL") {
		t.Error("TTL without a retention")
	}
}

func TestClickHouseEnum(t *testing.T) {
	c, _ := ByName("direction")
	if got := ClickHouse1816.Type(c); got != "Enum8('unknown' = 0, 'ingress' = 1, 'egress' = 2)" {
		t.Errorf("direction: %s", got)
	}
	if got := quoteCH(`it's \ here`); got != `'it\'s \\ here'` {
		t.Errorf("quote: %s", got)
	}
}
