package vrni

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/importer/sink"
	"github.com/flowlake/flowlake/internal/testenv/recorder"
)

// fakeVRNI implements the request/response shapes of the vRNI API
// reference (v1.1.8) for /auth/token, /search and /entities/fetch.
type fakeVRNI struct {
	t       *testing.T
	mu      sync.Mutex
	base    int64 // time of flow 0
	n       int   // number of flows
	logins  int
	expired bool // next authenticated call answers 401 once
	limit   int  // answer 429 to this many more search calls
	limited int
	calls   map[string]int
	token   string
	sizes   []int
}

func (f *fakeVRNI) flowTime(i int) int64 { return f.base + int64(i)*3600 }

func (f *fakeVRNI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[r.URL.Path]++
	if r.Method != http.MethodPost {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/api/ni/auth/token" {
		var cred struct {
			Username, Password string
			Domain             struct {
				DomainType string `json:"domain_type"`
				Value      string `json:"value"`
			}
		}
		json.Unmarshal(body, &cred)
		if cred.Username != "admin@local" || cred.Password != "s3cret" || cred.Domain.DomainType != "LDAP" || cred.Domain.Value != "corp.example" {
			http.Error(w, `{"code":401,"message":"bad credentials"}`, http.StatusUnauthorized)
			return
		}
		f.logins++
		f.token = fmt.Sprintf("tok%d", f.logins)
		fmt.Fprintf(w, `{"token":%q,"expiry":%d}`, f.token, time.Now().Add(time.Hour).UnixMilli())
		return
	}
	if r.Header.Get("Authorization") != "NetworkInsight "+f.token || f.expired {
		f.expired = false
		http.Error(w, `{"code":401}`, http.StatusUnauthorized)
		return
	}
	switch r.URL.Path {
	case "/api/ni/search":
		if f.limited < f.limit {
			f.limited++
			if f.limited == 1 {
				w.Header().Set("Retry-After", "0")
			}
			http.Error(w, `{"code":429}`, http.StatusTooManyRequests)
			return
		}
		var req struct {
			EntityType string `json:"entity_type"`
			Filter     string `json:"filter"`
			Size       int    `json:"size"`
			Cursor     string `json:"cursor"`
			TimeRange  struct {
				Start int64 `json:"start_time"`
				End   int64 `json:"end_time"`
			} `json:"time_range"`
		}
		if err := json.Unmarshal(body, &req); err != nil || req.EntityType != "Flow" || req.Size <= 0 {
			http.Error(w, "bad search", http.StatusBadRequest)
			return
		}
		f.sizes = append(f.sizes, req.Size)
		var match []int
		for i := 0; i < f.n; i++ {
			if t := f.flowTime(i); t >= req.TimeRange.Start && t <= req.TimeRange.End {
				match = append(match, i)
			}
		}
		off, _ := strconv.Atoi(req.Cursor)
		type res struct {
			EntityID   string `json:"entity_id"`
			EntityType string `json:"entity_type"`
			Time       int64  `json:"time"`
		}
		out := struct {
			Results    []res  `json:"results"`
			Cursor     string `json:"cursor,omitempty"`
			TotalCount int    `json:"total_count"`
			StartTime  int64  `json:"start_time"`
			EndTime    int64  `json:"end_time"`
		}{Results: []res{}, TotalCount: len(match), StartTime: req.TimeRange.Start, EndTime: req.TimeRange.End}
		for _, i := range match[min(off, len(match)):min(off+req.Size, len(match))] {
			out.Results = append(out.Results, res{fmt.Sprintf("10000:515:%d", 900+i), "Flow", f.flowTime(i)})
		}
		if off+req.Size < len(match) {
			out.Cursor = strconv.Itoa(off + req.Size)
		}
		json.NewEncoder(w).Encode(out)
	case "/api/ni/entities/fetch":
		var req struct {
			EntityIDs []struct {
				EntityID   string `json:"entity_id"`
				EntityType string `json:"entity_type"`
				Time       int64  `json:"time"`
			} `json:"entity_ids"`
		}
		json.Unmarshal(body, &req)
		if len(req.EntityIDs) > 1000 {
			http.Error(w, "too many", http.StatusBadRequest)
			return
		}
		var results []map[string]any
		for _, id := range req.EntityIDs {
			var ent any
			switch id.EntityType {
			case "VirtualMachine":
				ent = map[string]any{"entity_id": id.EntityID, "entity_type": "VirtualMachine", "name": "app-" + strings.TrimPrefix(id.EntityID, "vm:")}
			case "Flow":
				i, _ := strconv.Atoi(strings.TrimPrefix(id.EntityID, "10000:515:"))
				ent = flowEntityJSON(i - 900)
			}
			results = append(results, map[string]any{"entity_id": id.EntityID, "entity_type": id.EntityType, "time": id.Time, "entity": ent})
		}
		json.NewEncoder(w).Encode(map[string]any{"results": results})
	default:
		http.NotFound(w, r)
	}
}

// flowEntityJSON: even flows allowed, odd denied by rule 1001; flow 7 has
// no source_ip (malformed); flow tags mix the TAG_-prefixed enum and the
// unprefixed spelling of the spec's example; VMs app-0..app-2 on the source
// side, app-9 on the destination of every third flow.
func flowEntityJSON(i int) map[string]any {
	m := map[string]any{
		"entity_id":      fmt.Sprintf("10000:515:%d", 900+i),
		"entity_type":    "Flow",
		"name":           fmt.Sprintf("10.0.0.%d -> 10.0.1.%d [port:443]", i, i),
		"source_ip":      map[string]any{"ip_address": fmt.Sprintf("10.0.0.%d", i), "netmask": "255.255.255.255"},
		"destination_ip": map[string]any{"ip_address": fmt.Sprintf("10.0.1.%d", i)},
		"port":           map[string]any{"start": 443, "end": 443, "display": "443", "iana_name": "https"},
		"protocol":       "TCP",
		"traffic_type":   "EAST_WEST_TRAFFIC",
		"flow_tag":       []string{"TAG_SRC_IP_VM", "EAST_WEST_TRAFFIC"},
		"source_vm":      map[string]any{"entity_id": fmt.Sprintf("vm:%d", i%3), "entity_type": "VirtualMachine"},
	}
	if i%2 == 0 {
		m["firewall_action"] = "ALLOW"
		m["firewall_rule_id"] = []string{}
	} else {
		m["firewall_action"] = "DENY"
		m["firewall_rule_id"] = "1001"
	}
	if i%3 == 0 {
		m["destination_vm"] = map[string]any{"entity_id": "vm:9", "entity_type": "VirtualMachine"}
	}
	if i == 7 {
		delete(m, "source_ip")
	}
	return m
}

func collect(t *testing.T) (*sink.Sink, *recorder.Recorder) {
	rec := &recorder.Recorder{}
	return rec.Sink(0), rec
}

func newClient(url string) *Client {
	return &Client{BaseURL: url, Username: "admin@local", Password: "s3cret", Domain: "LDAP", DomainValue: "corp.example",
		PageSize: 4, Backoff: time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestImportPagingBackoffAuth(t *testing.T) {
	day := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	fake := &fakeVRNI{t: t, base: day.Unix(), n: 24, calls: map[string]int{}, limit: 2}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c := newClient(srv.URL)
	s, rec := collect(t)
	// Token expiry in the middle: after login, the first call gets 401.
	if err := c.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	fake.expired = true
	start, end, err := ParseWindow("yesterday", day.Add(30*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Import(context.Background(), "flow_tag = TAG_SRC_IP_VM", start, end, s)
	if err != nil {
		t.Fatal(err)
	}
	s.Flush()
	// 24 hourly flows in the day, 4 per page: 6 pages; flow 7 is malformed.
	if len(rec.Rows) != 23 || fmt.Sprint(rec.BadPositions()) != "[8]" || st.Pages != 6 || st.Retries != 2 {
		t.Fatalf("%d rows, reports %v, stats %+v", len(rec.Rows), rec.BadPositions(), st)
	}
	if fake.logins != 2 || fake.calls["/api/ni/search"] != 6+2+1 {
		t.Errorf("logins %d, calls %v", fake.logins, fake.calls)
	}
	// VM names: fetched in bulk once per distinct VM (vm:0..2 and vm:9) in the first page, then cached.
	want := flow.Record{TimeReceived: day.Unix() * 1e9, TimeStart: day.Unix() * 1e9, TimeEnd: day.Unix() * 1e9, SourceType: flow.SourceTypeVrni,
		IPVersion: 4, SrcAddr: flow.MustParseAddr("10.0.0.0"), DstAddr: flow.MustParseAddr("10.0.1.0"), DstPort: 443, Proto: 6,
		Action: flow.ActionAllow, SrcVM: "app-0", DstVM: "app-9", Service: "https",
		Labels: `{"entity_id":"10000:515:900","traffic_type":"EAST_WEST_TRAFFIC","firewall_action":"ALLOW","flow_tags":"TAG_SRC_IP_VM,TAG_EAST_WEST_TRAFFIC"}`}
	if rec.Rows[0] != want {
		t.Errorf("flow 0:\n got %+v\nwant %+v", rec.Rows[0], want)
	}
	r := rec.Rows[1]
	if r.Action != flow.ActionDeny || r.Rule != "1001" || r.SrcVM != "app-1" || r.DstVM != "" || r.TimeStart != (day.Unix()+3600)*1e9 {
		t.Errorf("flow 1: %+v", r)
	}
}

func TestDailyJobNoDuplicates(t *testing.T) {
	day := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	fake := &fakeVRNI{t: t, base: day.Unix(), n: 40, calls: map[string]int{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	dir := t.TempDir()
	s, rec := collect(t)
	run := func(since string, now time.Time) {
		w, err := LoadWatermarks(dir)
		if err != nil {
			t.Fatal(err)
		}
		start, end, err := ParseWindow(since, now)
		if err != nil {
			t.Fatal(err)
		}
		key := srv.URL + "|"
		start, ok := w.Clip(key, start, end)
		if !ok {
			return
		}
		if _, err := newClient(srv.URL).Import(context.Background(), "", start, end, s); err != nil {
			t.Fatal(err)
		}
		s.Flush()
		if err := w.Advance(key, end); err != nil {
			t.Fatal(err)
		}
	}
	run("yesterday", day.Add(25*time.Hour)) // flows 0..23
	run("yesterday", day.Add(26*time.Hour)) // nothing new
	// The next day at 06:00, "last 24 hours": only flows after midnight (24..30).
	run("last 24 hours", day.Add(30*time.Hour+30*time.Minute))
	seen := map[string]bool{}
	for _, r := range rec.Rows {
		k := r.Labels
		if seen[k] {
			t.Fatalf("duplicate %s", k)
		}
		seen[k] = true
	}
	if len(rec.Rows) != 23+7 {
		t.Errorf("%d rows, want 30 (flow 7 is malformed)", len(rec.Rows))
	}
}

func TestLoginFailure(t *testing.T) {
	srv := httptest.NewServer(&fakeVRNI{t: t, calls: map[string]int{}})
	defer srv.Close()
	c := newClient(srv.URL)
	c.Password = "wrong"
	if err := c.Login(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("err = %v", err)
	}
}

func TestParseWindow(t *testing.T) {
	now := time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC)
	for in, want := range map[string]string{
		"yesterday":            "2026-11-21T00:00:00Z 2026-11-22T00:00:00Z",
		"last 24 hours":        "2026-11-21T14:30:00Z 2026-11-22T14:30:00Z",
		"last 90 minutes":      "2026-11-22T13:00:00Z 2026-11-22T14:30:00Z",
		"Last 7 Days":          "2026-11-15T14:30:00Z 2026-11-22T14:30:00Z",
		"2026-11-22T12:00:00Z": "2026-11-22T12:00:00Z 2026-11-22T14:30:00Z",
	} {
		s, e, err := ParseWindow(in, now)
		if err != nil || s.Format(time.RFC3339)+" "+e.Format(time.RFC3339) != want {
			t.Errorf("%q: %v %v %v, want %s", in, s, e, err, want)
		}
	}
	if _, _, err := ParseWindow("sometime", now); err == nil {
		t.Error("no error for a bad window")
	}
}

// FuzzFill maps arbitrary flow entities: errors are fine, panics are not.
func FuzzFill(f *testing.F) {
	for _, i := range []int{0, 1, 7} {
		data, _ := json.Marshal(flowEntityJSON(i))
		f.Add(data)
	}
	f.Add([]byte(`{"source_ip":{"ip_address":"::1"},"destination_ip":{"ip_address":"x"},"port":{"start":70000}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var fe flowEntity
		if json.Unmarshal(data, &fe) != nil {
			return
		}
		b := new(flow.Batch)
		i := b.Extend(1)
		if err := (&Client{}).fill(b, i, &fe, 1); err == nil && b.SourceType[i] != flow.SourceTypeVrni {
			t.Fatal("row without source type")
		}
	})
}
