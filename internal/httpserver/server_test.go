package httpserver

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestDefaultConfigValidates(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Config{Listen: "8080"}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "listen: ") {
		t.Errorf("a port without host: %v", err)
	}
}

func TestStartServeStop(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := New(Config{Listen: "127.0.0.1:0"}, Dependencies{Gatherer: reg})
	if err != nil {
		t.Fatal(err)
	}
	s.Handle("GET /hello", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") }))
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/healthz": "ok\n", "/hello": "hi"} {
		resp, err := http.Get("http://" + s.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != want {
			t.Errorf("%s: %q, want %q", path, body, want)
		}
	}
	// The port is taken: a second server fails at Start, naming it.
	other, _ := New(Config{Listen: s.Addr().String()}, Dependencies{Gatherer: reg})
	if err := other.Start(); err == nil || !strings.Contains(err.Error(), s.Addr().String()) {
		t.Errorf("second server on a taken port: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + s.Addr().String() + "/healthz"); err == nil {
		t.Error("still serving after Stop")
	}
	select {
	case err := <-s.Failed():
		t.Errorf("clean stop reported as a failure: %v", err)
	default:
	}
}
