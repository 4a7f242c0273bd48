package collect

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// acceptTCP serves IPFIX over TCP (RFC 7011 section 10.4): a stream of IPFIX
// messages, each framed by the length in its header.
func (c *Collector) acceptTCP(ctx context.Context, ln *net.TCPListener) {
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		conn, err := ln.AcceptTCP()
		if err != nil {
			if isClosed(err) || ctx.Err() != nil {
				return
			}
			c.log.Error("tcp accept", "addr", ln.Addr(), "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
			defer stop()
			defer conn.Close()
			if err := c.serveTCP(conn); err != nil && !isClosed(err) {
				c.m.errors.Inc()
				c.log.Warn("ipfix tcp", "exporter", conn.RemoteAddr(), "err", err)
			}
		}()
	}
}

// maxTCPIdle closes a session that sends nothing for this long; exporters
// keep sessions alive with template refreshes.
const maxTCPIdle = 30 * time.Minute

func (c *Collector) serveTCP(conn *net.TCPConn) error {
	from := conn.RemoteAddr().(*net.TCPAddr).AddrPort()
	r := bufio.NewReaderSize(conn, 256<<10)
	msg := make([]byte, 65536)
	cur := c.get()
	defer func() { c.hand(cur) }()
	var first time.Time
	for {
		_ = conn.SetReadDeadline(time.Now().Add(maxTCPIdle))
		if _, err := io.ReadFull(r, msg[:4]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		version := binary.BigEndian.Uint16(msg)
		length := int(binary.BigEndian.Uint16(msg[2:]))
		if version != 10 || length < 16 {
			// The stream cannot be resynchronised: RFC 7011 says to
			// close the session.
			return fmt.Errorf("stream out of sync: version %d, length %d", version, length)
		}
		if _, err := io.ReadFull(r, msg[4:length]); err != nil {
			return fmt.Errorf("message of %d bytes: %w", length, err)
		}
		now := time.Now()
		c.datagram(msg[:length], from, now, cur)
		if first.IsZero() {
			first = now
		}
		if cur.Flows.Len() >= c.cfg.BatchRows || now.Sub(first) >= c.cfg.BatchDelay || r.Buffered() == 0 {
			cur, first = c.hand(cur), time.Time{}
		}
	}
}
