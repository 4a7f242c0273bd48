// Package output is where enriched flows leave flowlake other than into the
// store: forwarding and export drivers (JSON lines, files, syslog, Log
// Insight, Kafka, Splunk, Elasticsearch) all sit behind the Output
// interface, each in its own sub-package, the way goflow2 splits format and
// transport.
package output

import (
	"github.com/flowlake/flowlake/internal/component"
	"github.com/flowlake/flowlake/internal/flow"
)

// Output receives every enriched batch of the pipeline.
type Output interface {
	component.Component
	// Name identifies the output in logs and metrics (its config name).
	Name() string
	// Send hands over one batch. It runs on the collector's path, so it
	// must never block on the destination: it copies or encodes what it
	// needs into its own queue or spool, or drops and counts. b is only
	// valid during the call. Send may be called from several goroutines
	// at once (the collector and the importers share the pipeline); Queue
	// does all of this for a driver.
	Send(b *flow.Batch)
}
