// Package query runs KQL queries: it resolves the time window, compiles the
// query to SQL for the engine's dialect and executes it, for the CLI and the
// HTTP API alike, so both behave the same.
package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/flowlake/flowlake/internal/archive"
	"github.com/flowlake/flowlake/internal/engine"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/kql"
	"github.com/flowlake/flowlake/internal/timewindow"
)

// Config configures a Service.
type Config struct {
	Engine *engine.Engine
	// Tables adds tables to the KQL catalog (enrichment tables).
	Tables map[string]kql.Table
	// MaxRows bounds the rows of any result (0: unbounded); a request may
	// ask for fewer, not more.
	MaxRows int
	// Now is the clock (tests fix it); nil is time.Now.
	Now func() time.Time
}

// Service runs queries.
type Service struct {
	cfg Config
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
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
	Columns   []Column             `json:"columns"`
	Rows      [][]any              `json:"rows"`
	Render    *Render              `json:"render,omitempty"`
	Truncated bool                 `json:"truncated"`
	SQL       string               `json:"sql,omitempty"`
	Window    *WindowJSON          `json:"window,omitempty"`
	Timing    Timing               `json:"timing"`
	Skipped   []engine.SkippedFile `json:"skipped_files,omitempty"`
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
	w, err := timewindow.Parse(req.Since, req.Until, s.cfg.Now())
	if err != nil {
		return nil, w, &Error{Kind: "window", Message: err.Error(), err: err}
	}
	limit := s.maxRows(req)
	if limit > 0 {
		limit++ // one more row tells that the result was truncated
	}
	c, err := kql.Compile(req.Query, kql.Options{From: w.From, To: w.To, MaxRows: limit, Now: s.cfg.Now(), Tables: s.cfg.Tables})
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
	res, err := s.cfg.Engine.QueryFiltered(ctx, c.SQL, filter(c.Bounds, w.From, w.To))
	if err != nil {
		return nil, &Error{Kind: "execution", Message: err.Error(), err: err}
	}
	resp.Timing.ExecuteMs = ms(time.Since(t1))
	resp.Timing.Files = res.Files
	resp.Truncated = res.Truncated
	resp.Skipped = res.Skipped
	if n := s.maxRows(req); n > 0 && len(res.Rows) > n {
		res.Rows, resp.Truncated = res.Rows[:n], true
	}
	resp.Rows = make([][]any, len(res.Rows))
	for i, r := range res.Rows {
		out := make([]any, len(r))
		for j, v := range r {
			out[j] = engine.JSONValue(v)
		}
		resp.Rows[i] = out
	}
	return resp, nil
}

// filter turns the compiled query's bounds into the archive filter that
// chooses the lake files the query reads: a needle query on one address
// pair and one day reads the few files of that day and that pair's bucket.
func filter(b kql.Bounds, from, to time.Time) archive.Filter {
	f := archive.Filter{From: from, To: to}
	addrs := func(l [][16]byte) []flow.Addr {
		if l == nil {
			return nil
		}
		out := make([]flow.Addr, len(l))
		for i, a := range l {
			out[i] = flow.Addr(a)
		}
		return out
	}
	f.SrcAddrs, f.DstAddrs = addrs(b.SrcAddrs), addrs(b.DstAddrs)
	for name, t := range b.Times {
		if f.Times == nil {
			f.Times = map[string]archive.Span{}
		}
		f.Times[name] = archive.Span{Min: t.Min, Max: t.Max}
	}
	return f
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
