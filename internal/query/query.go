// Package query runs KQL queries: it resolves the time window, compiles the
// query to SQL for the store's dialect and runs it on the store (any
// store.Reader), for the CLI and the HTTP API alike, so both behave the
// same.
package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/flowlake/flowlake/internal/kql"
	"github.com/flowlake/flowlake/internal/store"
	"github.com/flowlake/flowlake/internal/timewindow"
)

// Config bounds queries (YAML section query: those of the HTTP API; the
// CLI sets its own from flags).
type Config struct {
	// Timeout interrupts a query after this long (0: never).
	Timeout time.Duration `yaml:"timeout"`
	// MaxRows bounds the rows of any result (0: unbounded); a request may
	// ask for fewer, not more.
	MaxRows int `yaml:"max_rows"`
}

// DefaultConfig is what the HTTP API allows one query.
func DefaultConfig() Config { return Config{Timeout: 60 * time.Second, MaxRows: 100000} }

// Validate checks the bounds.
func (c Config) Validate() error {
	if c.Timeout < 0 {
		return errors.New("timeout: must not be negative (0: none)")
	}
	if c.MaxRows < 0 {
		return errors.New("max_rows: must not be negative (0: no limit)")
	}
	return nil
}

// Dependencies are what a Service needs besides its Config.
type Dependencies struct {
	// Store runs the compiled queries.
	Store store.Reader
	// Now is the clock (tests fix it); nil is time.Now.
	Now func() time.Time
}

// Service runs queries.
type Service struct {
	cfg  Config
	deps Dependencies
}

// New returns a Service running queries on deps.Store.
func New(cfg Config, deps Dependencies) *Service {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Service{cfg: cfg, deps: deps}
}

// Request is one query with its time window.
type Request struct {
	Query string `json:"query"`
	// Since and Until bound time_received (see package timewindow: "last
	// 24 hours", "yesterday", ISO times, "A to B").
	Since   string `json:"since,omitempty"`
	Until   string `json:"until,omitempty"`
	MaxRows int    `json:"max_rows,omitempty"`
	// Explain returns the SQL without running it.
	Explain bool `json:"explain,omitempty"`
}

// Column describes one result column.
type Column struct {
	Name string `json:"name"`
	// Type is the KQL type (long, real, string, datetime, ...).
	Type string `json:"type"`
}

// Response is a query's result.
type Response struct {
	Columns   []Column        `json:"columns"`
	Rows      [][]any         `json:"rows"`
	Render    *Render         `json:"render,omitempty"`
	Truncated bool            `json:"truncated"`
	SQL       string          `json:"sql,omitempty"`
	Window    *WindowJSON     `json:"window,omitempty"`
	Timing    Timing          `json:"timing"`
	Skipped   []store.Skipped `json:"skipped_files,omitempty"`
}

// Render is the chart the query asked for with its render operator; the
// client draws it.
type Render struct {
	Kind    string            `json:"kind"`
	Options map[string]string `json:"options,omitempty"`
}

// WindowJSON is the resolved time window.
type WindowJSON struct {
	From *time.Time `json:"from,omitempty"`
	To   *time.Time `json:"to,omitempty"`
}

// Timing splits where the time went.
type Timing struct {
	CompileMs float64 `json:"compile_ms"`
	ExecuteMs float64 `json:"execute_ms"`
	Files     int     `json:"files"`
}

// Error is a failed query: what went wrong and where.
type Error struct {
	// Kind is "window", "syntax" (parse or compile) or "execution".
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	err     error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s error at %d:%d: %s", e.Kind, e.Line, e.Col, e.Message)
	}
	return fmt.Sprintf("%s error: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.err }

// Compile resolves the window and compiles req without running it.
func (s *Service) Compile(req Request) (*kql.Compiled, timewindow.Window, error) {
	w, err := timewindow.Parse(req.Since, req.Until, s.deps.Now())
	if err != nil {
		return nil, w, &Error{Kind: "window", Message: err.Error(), err: err}
	}
	limit := s.maxRows(req)
	if limit > 0 {
		limit++ // one more row tells that the result was truncated
	}
	c, err := kql.Compile(req.Query, kql.Options{From: w.From, To: w.To, MaxRows: limit, Now: s.deps.Now(),
		Dialect: s.deps.Store.Dialect(), Tables: s.deps.Store.Tables()})
	if err != nil {
		qe := &Error{Kind: "syntax", Message: err.Error(), err: err}
		var ke *kql.Error
		if errors.As(err, &ke) {
			qe.Message, qe.Line, qe.Col = ke.Msg, ke.Line, ke.Col
		}
		return nil, w, qe
	}
	return c, w, nil
}

func (s *Service) maxRows(req Request) int {
	n := s.cfg.MaxRows
	if req.MaxRows > 0 && (n == 0 || req.MaxRows < n) {
		n = req.MaxRows
	}
	return n
}

// Run compiles and executes req.
func (s *Service) Run(ctx context.Context, req Request) (*Response, error) {
	t0 := time.Now()
	c, w, err := s.Compile(req)
	if err != nil {
		return nil, err
	}
	resp := &Response{Timing: Timing{CompileMs: ms(time.Since(t0))}}
	if c.Render != nil {
		resp.Render = &Render{Kind: c.Render.Kind, Options: c.Render.Options}
	}
	for _, col := range c.Columns {
		resp.Columns = append(resp.Columns, Column{Name: col.Name, Type: string(col.Type)})
	}
	if !w.IsZero() {
		resp.Window = &WindowJSON{}
		if !w.From.IsZero() {
			resp.Window.From = &w.From
		}
		if !w.To.IsZero() {
			resp.Window.To = &w.To
		}
	}
	if req.Explain {
		resp.SQL = c.SQL
		resp.Rows = [][]any{}
		return resp, nil
	}
	t1 := time.Now()
	if s.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
	}
	rows := [][]any{}
	res, err := s.deps.Store.Query(ctx, store.Query{SQL: c.SQL, From: w.From, To: w.To, Bounds: c.Bounds}, func(_ []store.Column, row []any) error {
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		return nil, &Error{Kind: "execution", Message: err.Error(), err: err}
	}
	resp.Timing.ExecuteMs = ms(time.Since(t1))
	resp.Timing.Files = res.Files
	resp.Skipped = res.Skipped
	if n := s.maxRows(req); n > 0 && len(rows) > n {
		rows, resp.Truncated = rows[:n], true
	}
	resp.Rows = rows
	return resp, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// maxBody bounds a request body: queries are text, not data.
const maxBody = 1 << 20

// Handler serves POST /api/v1/query: a JSON Request in, a JSON Response
// out, or {"error": Error} with status 400 (bad query or window) or 500.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req Request
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": &Error{Kind: "request", Message: "request body: " + err.Error()}})
			return
		}
		resp, err := s.Run(r.Context(), req)
		if err != nil {
			status := http.StatusInternalServerError
			var qe *Error
			if errors.As(err, &qe) && qe.Kind != "execution" {
				status = http.StatusBadRequest
			} else if qe == nil {
				qe = &Error{Kind: "execution", Message: err.Error()}
			}
			writeJSON(w, status, map[string]any{"error": qe})
			return
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
