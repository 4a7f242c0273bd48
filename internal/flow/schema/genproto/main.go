// Command genproto writes flow.proto, the Kafka protobuf of a flow, from the
// schema: go generate ./internal/flow/schema.
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/flowlake/flowlake/internal/flow/schema"
)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: genproto OUTPUT.proto")
	}
	out := os.Args[1]
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(out, []byte(schema.ProtoFile()), 0o644); err != nil {
		log.Fatal(err)
	}
}
