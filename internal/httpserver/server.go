// Package httpserver is flowlake's one HTTP listener: Prometheus metrics,
// health and profiles, with the query API and (later) the web UI mounted
// on it by the packages that serve them (query.Service.Handler, ...). It
// holds no API of its own, hence its name.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config configures the HTTP listener (YAML section http).
type Config struct {
	// Listen is host:port; empty disables the HTTP server.
	Listen string `yaml:"listen"`
}

// DefaultConfig listens on loopback only: exposing the API is a choice.
func DefaultConfig() Config { return Config{Listen: "127.0.0.1:8080"} }

// Validate checks Listen.
func (c Config) Validate() error {
	if c.Listen == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen: %q: want host:port: %w", c.Listen, err)
	}
	return nil
}

// Dependencies are what a Server needs besides its Config.
type Dependencies struct {
	// Gatherer serves /metrics (default prometheus.DefaultGatherer).
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
}

// shutdownTimeout bounds how long Stop waits for requests in flight.
const shutdownTimeout = 5 * time.Second

// Server serves the HTTP endpoints. It is a component: Start binds the
// listener (a taken port fails start-up) and serves; Stop shuts down
// gracefully; a listener that dies is reported on Failed.
type Server struct {
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	srv    *http.Server
	ln     net.Listener
	failed chan error
	done   chan struct{}
	mu     sync.Mutex
}

// New returns a Server with /metrics, /healthz and /debug/pprof routes;
// callers add theirs with Handle before Start.
func New(cfg Config, deps Dependencies) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Gatherer == nil {
		deps.Gatherer = prometheus.DefaultGatherer
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	log := deps.Logger
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(deps.Gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	// Profiles, for "why is my collector busy": the listener defaults to
	// loopback.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	s := &Server{cfg: cfg, log: log, mux: mux, failed: make(chan error, 1)}
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// Handle adds a route (http.ServeMux patterns); call it before Start.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Start implements component.Component: it binds the listener and serves.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("http %s: %w", s.cfg.Listen, err)
	}
	s.mu.Lock()
	s.ln, s.done = ln, make(chan struct{})
	s.mu.Unlock()
	s.log.Info("http", "addr", ln.Addr().String())
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.failed <- fmt.Errorf("http %s: %w", ln.Addr(), err)
		}
	}()
	return nil
}

// Addr is the address the server listens on, once started.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Stop implements component.Component: requests in flight get a few
// seconds to finish.
func (s *Server) Stop() error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-done
	return err
}

// Failed implements component.Failer.
func (s *Server) Failed() <-chan error { return s.failed }
