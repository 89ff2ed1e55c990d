package app

import (
	"bytes"
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/serving"
)

// captureWriter writes data capture files into the artifact store as the variant's execution
// role (serving.CaptureWriter): the role's policies and the bucket's decide, as for any PutObject.
type captureWriter struct{ s *artifacts.Service }

var _ serving.CaptureWriter = captureWriter{}

func (w captureWriter) PutObject(ctx context.Context, caller identity.Caller, bucket, key string, body []byte) error {
	_, err := w.s.PutObject(ctx, caller, artifacts.PutInput{Bucket: bucket, Key: key, Body: bytes.NewReader(body)})
	return err
}

// captureCollectors export the data capture's counters on /metrics: records captured (in the
// spool), dropped (the spool could not take them), written and failed (their destination
// refused them, e.g. the role may not write there), spool lines damaged (cut short by a kill),
// the files written and the bytes the spool holds.
func captureCollectors(c *serving.Capturer) []prometheus.Collector {
	stat := func(outcome string, f func(serving.CaptureStats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "slipway_endpoint_data_capture_records_total",
			Help:        "Invocation records of data capture, by outcome: captured (in the spool), dropped (the spool could not take them), written, failed (refused by the destination), damaged (unreadable in the spool).",
			ConstLabels: prometheus.Labels{"outcome": outcome}},
			func() float64 { return float64(f(c.Stats())) })
	}
	return []prometheus.Collector{
		stat("captured", func(s serving.CaptureStats) int64 { return s.Captured }),
		stat("dropped", func(s serving.CaptureStats) int64 { return s.Dropped }),
		stat("written", func(s serving.CaptureStats) int64 { return s.Written }),
		stat("failed", func(s serving.CaptureStats) int64 { return s.Failed }),
		stat("damaged", func(s serving.CaptureStats) int64 { return s.Damaged }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "slipway_endpoint_data_capture_files_total",
			Help: "Data capture files written to the artifact store."}, func() float64 { return float64(c.Stats().Files) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "slipway_endpoint_data_capture_spool_bytes",
			Help: "Bytes of captured invocations in the local spool, not yet uploaded."}, func() float64 { return float64(c.Stats().Spooled) }),
	}
}

// FlushDataCapture uploads the data capture spooled so far (it is otherwise uploaded every few
// seconds and at Close).
func (a *App) FlushDataCapture() { a.servingMeter.capture.Flush() }

// DataCaptureStats returns the data capture's counters.
func (a *App) DataCaptureStats() serving.CaptureStats { return a.servingMeter.capture.Stats() }
