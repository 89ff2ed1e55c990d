package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/slipway-ml/slipway/internal/errs"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/store"
)

// dataReader is all an offline command may do with a server's database: read the audit trail
// and the events. Offline commands (audit verify, the demo's last steps) work on a data
// directory or a PostgreSQL database without a running server; everything else in the CLI
// reaches a server through its API. This file is the only one of the package that may import
// the store (internal/deps checks it).
type dataReader interface {
	audit.Reader
	EventsAfter(ctx context.Context, after int64, limit int) ([]events.Event, error)
	Close() error
}

// offline is the dataReader over a store: its audit and event stores, read only.
type offline struct {
	*store.AuditStore
	ev *store.EventStore
	st *store.Store
}

var _ dataReader = offline{}

func (o offline) EventsAfter(ctx context.Context, after int64, limit int) ([]events.Event, error) {
	return o.ev.EventsAfter(ctx, after, limit)
}

func (o offline) Close() error { return o.st.Close() }

// openOffline opens the database cfg names for reading. Opening applies pending migrations, as
// a server's start would; nothing else is written.
func openOffline(ctx context.Context, cfg config.Config) (dataReader, error) {
	if cfg.Database == "" {
		// Reading must not create: an empty database at a mistyped path would "verify" nothing.
		if _, err := os.Stat(cfg.DatabaseDSN()); err != nil {
			return nil, errs.E(errs.NotFound, "there is no Slipway database at %s (%s)", cfg.DatabaseDSN(), cfg.StoreHint())
		}
	}
	st, err := store.Open(ctx, cfg.DatabaseDSN(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, cfg.StoreHint())
	}
	return offline{AuditStore: st.Audit(), ev: st.Events(), st: st}, nil
}
