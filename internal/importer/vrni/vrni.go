// Package vrni imports flows from VMware vRealize Network Insight (Aria
// Operations for Networks) through its public API (/api/ni): token
// authentication, flow search with cursor paging, bulk entity fetch, and
// backoff on HTTP 429. vRNI keeps flows about a month; a daily run with a
// remembered watermark moves them into the archive without duplicates.
package vrni

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flowlake/flowlake/internal/atomicfile"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/importer/sink"
	"github.com/flowlake/flowlake/internal/importer/textfield"
	"github.com/flowlake/flowlake/internal/timewindow"
)

// Client talks to one vRNI platform.
type Client struct {
	// BaseURL is https://host (the /api/ni prefix is added).
	BaseURL string
	// Username, Password and Domain ("LOCAL" or "LDAP"; DomainValue is the
	// LDAP domain) authenticate through POST /api/ni/auth/token.
	Username, Password, Domain, DomainValue string
	// HTTP is the client used (http.DefaultClient if nil).
	HTTP *http.Client
	// PageSize is the search page size (100 if 0); Fetch batches are the
	// same size (the API allows up to 1000).
	PageSize int
	// MaxRetries bounds the retries of one request on 429/503 (8 if 0).
	MaxRetries int
	// Backoff is the first retry delay when the server gives no
	// Retry-After (1s if 0); it doubles per retry up to a minute.
	Backoff time.Duration
	// Logger reports retries (slog.Default if nil).
	Logger *slog.Logger

	token string
	vms   map[string]string
}

// Stats of one import.
type Stats struct {
	Pages, Flows, Skipped, Retries int
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

// StatusError is a non-success HTTP answer.
type StatusError struct {
	Path string
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("vrni %s: HTTP %d: %s", e.Path, e.Code, e.Body)
}

// call POSTs body as JSON to /api/ni<path> and decodes the answer into out,
// retrying on 429/503 with backoff and re-authenticating once on 401.
func (c *Client) call(ctx context.Context, path string, body, out any, st *Stats) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	maxRetries := c.MaxRetries
	if maxRetries == 0 {
		maxRetries = 8
	}
	delay := c.Backoff
	if delay == 0 {
		delay = time.Second
	}
	reauth := path != "/auth/token"
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/api/ni"+path, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		if c.token != "" && path != "/auth/token" {
			req.Header.Set("Authorization", "NetworkInsight "+c.token)
		}
		resp, err := c.http().Do(req)
		if err != nil {
			return fmt.Errorf("vrni %s: %w", path, err)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("vrni %s: %w", path, err)
		}
		switch {
		case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated:
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("vrni %s: response: %w", path, err)
			}
			return nil
		case resp.StatusCode == http.StatusUnauthorized && reauth:
			reauth = false
			if err := c.Login(ctx); err != nil {
				return err
			}
			continue
		case (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) && attempt < maxRetries:
			wait := delay
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
				wait = time.Duration(s) * time.Second
			}
			if st != nil {
				st.Retries++
			}
			c.log().Info("vrni rate limited, backing off", "path", path, "status", resp.StatusCode, "wait", wait, "attempt", attempt+1)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			delay = min(delay*2, time.Minute)
			continue
		}
		return &StatusError{Path: path, Code: resp.StatusCode, Body: strings.TrimSpace(string(data[:min(len(data), 512)]))}
	}
}

// Login gets an API token.
func (c *Client) Login(ctx context.Context) error {
	dom := map[string]string{"domain_type": strings.ToUpper(c.Domain)}
	if dom["domain_type"] == "" {
		dom["domain_type"] = "LOCAL"
	}
	if c.DomainValue != "" {
		dom["value"] = c.DomainValue
	}
	var tok struct {
		Token  string `json:"token"`
		Expiry int64  `json:"expiry"`
	}
	c.token = ""
	if err := c.call(ctx, "/auth/token", map[string]any{"username": c.Username, "password": c.Password, "domain": dom}, &tok, nil); err != nil {
		return fmt.Errorf("vrni login: %w", err)
	}
	if tok.Token == "" {
		return errors.New("vrni login: empty token")
	}
	c.token = tok.Token
	return nil
}

type entityRef struct {
	EntityID   string `json:"entity_id"`
	EntityType string `json:"entity_type"`
	Time       int64  `json:"time"`
}

type searchResponse struct {
	Results    []entityRef `json:"results"`
	Cursor     string      `json:"cursor"`
	TotalCount int64       `json:"total_count"`
}

type ref struct {
	EntityID   string `json:"entity_id"`
	EntityType string `json:"entity_type"`
}

// stringOrList accepts a string or a list of strings (the spec says string
// for firewall_rule_id, its own example has []).
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, (*[]string)(s))
	}
	var one string
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	if one != "" {
		*s = []string{one}
	}
	return nil
}

type flowEntity struct {
	EntityID string `json:"entity_id"`
	Name     string `json:"name"`
	SourceIP *struct {
		IPAddress string `json:"ip_address"`
	} `json:"source_ip"`
	DestinationIP *struct {
		IPAddress string `json:"ip_address"`
	} `json:"destination_ip"`
	Port *struct {
		Start    int    `json:"start"`
		End      int    `json:"end"`
		IANAName string `json:"iana_name"`
	} `json:"port"`
	Protocol       string       `json:"protocol"`
	TrafficType    string       `json:"traffic_type"`
	FirewallAction string       `json:"firewall_action"`
	FirewallRuleID stringOrList `json:"firewall_rule_id"`
	FlowTag        []string     `json:"flow_tag"`
	SourceVM       *ref         `json:"source_vm"`
	DestinationVM  *ref         `json:"destination_vm"`
	WithinHost     bool         `json:"within_host"`
}

type fetchResponse struct {
	Results []struct {
		EntityID string          `json:"entity_id"`
		Time     int64           `json:"time"`
		Entity   json.RawMessage `json:"entity"`
	} `json:"results"`
}

// Import searches the flows seen in [start, end) that match filter (vRNI
// search syntax, may be empty) and writes them to s. Flows whose details
// cannot be mapped are reported with their search position and skipped.
func (c *Client) Import(ctx context.Context, filter string, start, end time.Time, s *sink.Sink) (Stats, error) {
	var st Stats
	if c.token == "" {
		if err := c.Login(ctx); err != nil {
			return st, err
		}
	}
	size := c.PageSize
	if size == 0 {
		size = 100
	}
	body := map[string]any{
		"entity_type": "Flow",
		"size":        size,
		// end_time is inclusive in vRNI: stop one second short so that
		// consecutive windows do not share a second.
		"time_range": map[string]int64{"start_time": start.Unix(), "end_time": end.Unix() - 1},
	}
	if filter != "" {
		body["filter"] = filter
	}
	var pos int64
	for {
		var page searchResponse
		if err := c.call(ctx, "/search", body, &page, &st); err != nil {
			return st, err
		}
		st.Pages++
		if err := c.fetchFlows(ctx, page.Results, &pos, s, &st); err != nil {
			return st, err
		}
		if page.Cursor == "" || len(page.Results) == 0 {
			return st, nil
		}
		body["cursor"] = page.Cursor
	}
}

func (c *Client) fetchFlows(ctx context.Context, refs []entityRef, pos *int64, s *sink.Sink, st *Stats) error {
	if len(refs) == 0 {
		return nil
	}
	ids := make([]entityRef, 0, len(refs))
	for _, r := range refs {
		ids = append(ids, entityRef{EntityID: r.EntityID, EntityType: "Flow", Time: r.Time})
	}
	var resp fetchResponse
	if err := c.call(ctx, "/entities/fetch", map[string]any{"entity_ids": ids}, &resp, st); err != nil {
		return err
	}
	flows := make([]flowEntity, len(resp.Results))
	var vmIDs []string
	for i, r := range resp.Results {
		if err := json.Unmarshal(r.Entity, &flows[i]); err != nil {
			continue // reported below, where the row would be
		}
		for _, v := range []*ref{flows[i].SourceVM, flows[i].DestinationVM} {
			if v != nil && v.EntityID != "" {
				if _, ok := c.vms[v.EntityID]; !ok {
					vmIDs = append(vmIDs, v.EntityID)
				}
			}
		}
	}
	if err := c.fetchVMNames(ctx, vmIDs, st); err != nil {
		return err
	}
	for i, r := range resp.Results {
		*pos++
		if len(r.Entity) == 0 || string(r.Entity) == "null" {
			s.Bad(*pos, fmt.Errorf("flow %s: no entity in fetch result", r.EntityID))
			st.Skipped++
			continue
		}
		var probe flowEntity
		if err := json.Unmarshal(r.Entity, &probe); err != nil {
			s.Bad(*pos, fmt.Errorf("flow %s: %w", r.EntityID, err))
			st.Skipped++
			continue
		}
		kept, err := s.Add(*pos, func(b *flow.Batch, row int) error {
			if err := c.fill(b, row, &flows[i], r.Time); err != nil {
				return fmt.Errorf("flow %s: %w", r.EntityID, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !kept {
			st.Skipped++
			continue
		}
		st.Flows++
	}
	return nil
}

func (c *Client) fetchVMNames(ctx context.Context, ids []string, st *Stats) error {
	if c.vms == nil {
		c.vms = map[string]string{}
	}
	size := c.PageSize
	if size == 0 {
		size = 100
	}
	seen := map[string]bool{}
	var uniq []entityRef
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, entityRef{EntityID: id, EntityType: "VirtualMachine"})
		}
	}
	for len(uniq) > 0 {
		n := min(len(uniq), size)
		var resp fetchResponse
		if err := c.call(ctx, "/entities/fetch", map[string]any{"entity_ids": uniq[:n]}, &resp, st); err != nil {
			return err
		}
		for _, r := range resp.Results {
			var vm struct {
				Name string `json:"name"`
			}
			if json.Unmarshal(r.Entity, &vm) == nil {
				c.vms[r.EntityID] = vm.Name
			}
		}
		for _, r := range uniq[:n] {
			if _, ok := c.vms[r.EntityID]; !ok {
				c.vms[r.EntityID] = "" // unknown: do not ask again
			}
		}
		uniq = uniq[n:]
	}
	return nil
}

func (c *Client) fill(b *flow.Batch, i int, f *flowEntity, t int64) error {
	b.SourceType[i] = flow.SourceTypeVrni
	b.TimeStart[i] = t * int64(time.Second)
	b.TimeEnd[i] = b.TimeStart[i]
	b.TimeReceived[i] = b.TimeStart[i]
	if f.SourceIP == nil || f.DestinationIP == nil {
		return errors.New("flow without source_ip/destination_ip")
	}
	var err error
	if b.SrcAddr[i], err = flow.ParseAddr(f.SourceIP.IPAddress); err != nil {
		return fmt.Errorf("source_ip: %w", err)
	}
	if b.DstAddr[i], err = flow.ParseAddr(f.DestinationIP.IPAddress); err != nil {
		return fmt.Errorf("destination_ip: %w", err)
	}
	if b.SrcAddr[i].Is4() {
		b.IPVersion[i] = 4
	} else {
		b.IPVersion[i] = 6
	}
	switch strings.ToUpper(f.Protocol) {
	case "TCP":
		b.Proto[i] = 6
	case "UDP":
		b.Proto[i] = 17
	case "ICMP":
		b.Proto[i] = 1
	}
	var labels textfield.Labels
	if f.Port != nil {
		if f.Port.Start < 0 || f.Port.Start > 65535 {
			return fmt.Errorf("port %d out of range", f.Port.Start)
		}
		b.DstPort[i] = uint16(f.Port.Start)
		b.Service[i] = f.Port.IANAName
		if f.Port.End != f.Port.Start {
			labels.Add("port_end", []byte(strconv.Itoa(f.Port.End)))
		}
	}
	switch strings.ToUpper(f.FirewallAction) {
	case "ALLOW", "ACCEPT":
		b.Action[i] = flow.ActionAllow
	case "DENY", "DROP", "REJECT":
		b.Action[i] = flow.ActionDeny
	}
	b.Rule[i] = strings.Join(f.FirewallRuleID, ",")
	if f.SourceVM != nil {
		b.SrcVM[i] = c.vms[f.SourceVM.EntityID]
	}
	if f.DestinationVM != nil {
		b.DstVM[i] = c.vms[f.DestinationVM.EntityID]
	}
	labels.Add("entity_id", []byte(f.EntityID))
	labels.Add("traffic_type", []byte(f.TrafficType))
	labels.Add("firewall_action", []byte(f.FirewallAction))
	tags := make([]string, 0, len(f.FlowTag))
	for _, tg := range f.FlowTag {
		// The spec's own example leaves the TAG_ prefix out: normalise.
		if !strings.HasPrefix(tg, "TAG_") {
			tg = "TAG_" + tg
		}
		tags = append(tags, tg)
	}
	labels.Add("flow_tags", []byte(strings.Join(tags, ",")))
	if f.WithinHost {
		labels.Add("within_host", []byte("true"))
	}
	b.Labels[i] = labels.String()
	return nil
}

// ParseWindow turns --since into [start, end) with the syntax of every query
// front end (package timewindow): "last N hours", "yesterday", "today", a
// date, an RFC 3339 time or a range. A window reaching into the future ends
// now.
func ParseWindow(since string, now time.Time) (time.Time, time.Time, error) {
	w, err := timewindow.Parse(since, "", now)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("--since: %w", err)
	}
	if w.From.IsZero() {
		return time.Time{}, time.Time{}, fmt.Errorf("--since is required")
	}
	if now = now.UTC(); w.To.After(now) {
		w.To = now
	}
	return w.From, w.To, nil
}

// Watermarks remember, per platform and filter, up to when flows were
// imported, so that overlapping windows of daily runs import nothing twice.
type Watermarks struct {
	path string
	// Ends maps "<url>|<filter>" to the end (Unix seconds) of the last
	// imported window.
	Ends map[string]int64 `json:"ends"`
}

// LoadWatermarks reads <dataDir>/import/vrni.json (empty if absent).
func LoadWatermarks(dataDir string) (*Watermarks, error) {
	w := &Watermarks{path: filepath.Join(dataDir, "import", "vrni.json"), Ends: map[string]int64{}}
	data, err := os.ReadFile(w.path)
	if errors.Is(err, os.ErrNotExist) {
		return w, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, w); err != nil {
		return nil, fmt.Errorf("%s: %w", w.path, err)
	}
	if w.Ends == nil {
		w.Ends = map[string]int64{}
	}
	return w, nil
}

// Clip moves start past what was already imported for key; ok is false
// when nothing is left of the window.
func (w *Watermarks) Clip(key string, start, end time.Time) (time.Time, bool) {
	if e, found := w.Ends[key]; found && e > start.Unix() {
		start = time.Unix(e, 0).UTC()
	}
	return start, start.Before(end)
}

// Advance records end for key and saves (temp file, fsync, rename).
func (w *Watermarks) Advance(key string, end time.Time) error {
	if end.Unix() > w.Ends[key] {
		w.Ends[key] = end.Unix()
	}
	data, err := json.MarshalIndent(w, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(w.path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(w.path, data, 0o644)
}

// Run is one scheduled import: the window from since (see ParseWindow),
// clipped by the watermark kept under dataDir, written to w. Malformed flows
// are passed to bad.
func (c *Client) Run(ctx context.Context, filter, since, dataDir string, now time.Time, w flow.Writer, bad func(int64, error)) (Stats, error) {
	start, end, err := ParseWindow(since, now)
	if err != nil {
		return Stats{}, err
	}
	marks, err := LoadWatermarks(dataDir)
	if err != nil {
		return Stats{}, err
	}
	key := strings.TrimRight(c.BaseURL, "/") + "|" + filter
	start, ok := marks.Clip(key, start, end)
	if !ok {
		c.log().Info("vrni window already imported", "until", time.Unix(marks.Ends[key], 0).UTC())
		return Stats{}, nil
	}
	s := sink.New(w.WriteBatch, bad)
	st, err := c.Import(ctx, filter, start, end, s)
	if err == nil {
		err = s.Flush()
	}
	if err != nil {
		return st, err
	}
	// The watermark moves only after every flow of the window was written:
	// a failed run is repeated whole next time.
	return st, marks.Advance(key, end)
}
