package clickhouse

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Error is a store failure: which server, which step, and why. Its message
// adds a hint for the causes a user can fix (privileges, address, schema).
type Error struct {
	Server string
	Step   string
	Err    error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("clickhouse %s: %s: %v", e.Server, e.Step, e.Err)
	if h := hint(e.Err); h != "" {
		msg += " (" + h + ")"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ClickHouse error codes the store explains.
const (
	codeUnknownDatabase    = 81
	codeTableAlreadyExists = 57
	codeReadonly           = 164
	codeAuthFailed         = 516
	codeAccessDenied       = 497
	codeUnknownUser        = 192
	codeWrongPassword      = 193
	codeRequiredPassword   = 194
)

// ExceptionCode is the server's error code in err, or 0.
func ExceptionCode(err error) int32 {
	var ex *ch.Exception
	if errors.As(err, &ex) {
		return ex.Code
	}
	return 0
}

func hint(err error) string {
	switch ExceptionCode(err) {
	case codeReadonly, codeAccessDenied:
		return "the user lacks a privilege this step needs: writing flows and migrating need CREATE, ALTER, INSERT and SELECT on the database (readonly=0)"
	case codeAuthFailed, codeUnknownUser, codeWrongPassword, codeRequiredPassword:
		return "check the user and password in the DSN"
	}
	var op *net.OpError
	if errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &op) {
		return "is clickhouse-server running and listening on its native port (9000)?"
	}
	return ""
}

// conn is one connection pool to one or more servers of a DSN.
type conn struct {
	dsn    DSN
	server string
	db     driver.Conn
}

// dial opens a pool to d's addresses, in database (empty: the user's
// default), and checks it answers.
func dial(ctx context.Context, d DSN, addrs []string, database string) (*conn, error) {
	opts := &ch.Options{
		Addr:             addrs,
		Auth:             ch.Auth{Database: database, Username: d.User, Password: d.Password},
		DialTimeout:      d.DialTimeout,
		Compression:      &ch.Compression{Method: ch.CompressionLZ4},
		MaxOpenConns:     8,
		MaxIdleConns:     4,
		ConnOpenStrategy: ch.ConnOpenInOrder,
	}
	if d.Secure {
		opts.TLS = &tls.Config{}
	}
	c := &conn{dsn: d, server: strings.Join(addrs, ",") + "/" + d.Database}
	db, err := ch.Open(opts)
	if err != nil {
		return nil, &Error{c.server, "connect", err}
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, &Error{c.server, "connect", err}
	}
	c.db = db
	return c, nil
}

func (c *conn) close() error { return c.db.Close() }

// exec runs a statement; step names it in the error.
func (c *conn) exec(ctx context.Context, step, q string) error {
	if err := c.db.Exec(ctx, q); err != nil {
		return &Error{c.server, step, err}
	}
	return nil
}

func (c *conn) strings1(ctx context.Context, q string) ([]string, error) {
	rows, err := c.db.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (c *conn) pairs(ctx context.Context, q string) (map[string]string, error) {
	rows, err := c.db.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// features detects what the server can do.
func (c *conn) features(ctx context.Context) (Features, error) {
	cat, err := readCatalog(ctx, c)
	if err != nil {
		return Features{}, &Error{c.server, "detect features", err}
	}
	f, err := cat.Decide()
	if err != nil {
		return Features{}, &Error{c.server, "detect features", err}
	}
	return f, nil
}
