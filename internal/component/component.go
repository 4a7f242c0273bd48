// Package component is the one lifecycle every long-running part of flowlake
// follows (listeners, decoders' state saver, enrichment pollers, the archive
// writer and compactor, importer watchers, the HTTP server, outputs and
// stores), so that `flowlake serve` and the other commands start them in
// dependency order and stop them in reverse with one runner.
//
// A component is built by its package's constructor from its own Config
// (defaults and validation beside the code) and its explicit dependencies,
// as Akvorado's inlet components are: New(cfg, deps) (*T, error) does the
// checks that can fail without side effects; Start opens what must be open
// (ports bound, files locked) and launches background work; Stop drains,
// flushes and releases.
package component

// Component is a long-running part of flowlake.
type Component interface {
	// Start makes the component run and returns once it does: a port is
	// bound, a file opened, goroutines launched. An error aborts start-up;
	// the runner then stops what it already started, in reverse order.
	Start() error
	// Stop ends the component's work, flushing what it holds, and
	// releases its resources. It is called once, after a successful
	// Start, in reverse start order.
	Stop() error
}

// Failer is implemented by components whose background work can fail for
// good after Start (a listener whose socket died, a server that stopped
// serving). The runner watches the channel: a value on it stops the whole
// service cleanly and becomes the service's exit error.
type Failer interface {
	Failed() <-chan error
}
