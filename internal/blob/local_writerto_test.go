package blob_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/slipway-ml/slipway/internal/blob"
)

// piecesSource hands its pieces to WriteTo one write each, as the artifacts pipeline does.
type piecesSource struct{ pieces [][]byte }

func (p *piecesSource) Read([]byte) (int, error) { panic("Put must use WriteTo") }

func (p *piecesSource) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for _, b := range p.pieces {
		n, err := w.Write(b)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// A Put from a WriterTo stores exactly its bytes, one write each, whatever their sizes and
// alignment, across the 8 MiB writeback steps.
func TestLocalPutFromWriterTo(t *testing.T) {
	s, err := blob.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 9<<20+4096)
	for i := range big {
		big[i] = byte(i*7 + i>>12)
	}
	cases := map[string][][]byte{
		"aligned":             {big[:1<<20], big[1<<20 : 2<<20]},
		"aligned then tail":   {big[:1<<20], big[1<<20 : 2<<20], big[2<<20 : 2<<20+777]},
		"unaligned address":   {big[:1<<20], big[4096+1 : 4096+1+1<<20], big[:4096]},
		"tail then aligned":   {big[:100], big[:1<<20], big[1<<20 : 2<<20]},
		"past writeback step": {big[:9<<20], big[:3], big[:8<<20]},
		"empty":               {},
		"one unaligned byte":  {big[5:6]},
	}
	for name, pieces := range cases {
		want := bytes.Join(pieces, nil)
		n, err := s.Put(context.Background(), "k/"+name, &piecesSource{pieces})
		if err != nil || n != int64(len(want)) {
			t.Fatalf("%s: Put = %d, %v; want %d bytes", name, n, err, len(want))
		}
		rc, err := s.Open(context.Background(), "k/"+name, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: read back %d bytes (err %v), not the %d written", name, len(got), err, len(want))
		}
	}
	// A cancelled context stops the writes.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, "k/cancelled", &piecesSource{[][]byte{big[:1<<20]}}); err == nil {
		t.Error("Put with a cancelled context succeeded")
	}
}
