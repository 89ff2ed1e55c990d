package serving

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
)

// The capture spool: a directory of segment files, each a run of JSON lines, one per captured
// invocation: where its record goes (account, role, bucket, key prefix) and the record in
// SageMaker's capture format, whose eventId names it.
//
//   - An invocation appends its line to the open segment with one write(2) — no fsync — before it
//     is answered. The page cache keeps it when the server's process is killed (SIGKILL, an
//     out-of-memory kill); only a crash of the machine (or of its kernel) loses what the disk
//     had not yet written.
//   - Every Interval, and when the open segment reaches MaxFileBytes, it is sealed (a new one is
//     opened) and the uploader writes its records, one object per destination file, as the
//     variant's model execution role. An object's key derives from the segment's name and the
//     file's place in it, so uploading a segment again writes the same objects with the same
//     bytes: a record is in the destination once however often its segment is replayed.
//   - A segment is deleted only once every object of it is written (or refused for good: the
//     role may not write there). A failure that may pass (the store is unavailable) keeps it for
//     the next attempt, in this process or the next.
//   - At start every segment left by the previous process is sealed and uploaded. A line cut
//     short by the kill (a write(2) the kill interrupted, so an invocation never answered) or
//     damaged by a machine crash is skipped and counted.

// CaptureWriter writes an object as a caller, authorized as that caller (s3:PutObject).
type CaptureWriter interface {
	PutObject(ctx context.Context, caller identity.Caller, bucket, key string, body []byte) error
}

// CaptureOptions configures a Capturer.
type CaptureOptions struct {
	Writer   CaptureWriter
	Sessions Sessions
	// Spool is the directory of the capture spool (required; created if missing).
	Spool string
	// Interval is the longest a record waits in the spool before its upload starts (default
	// 5 s); MaxFileBytes bounds an object and seals a segment that reaches it (default 4 MiB);
	// MaxSpoolBytes bounds the spool on disk: once its segments hold that much, new records are
	// dropped and counted until uploads free space (default 1 GiB).
	Interval      time.Duration
	MaxFileBytes  int
	MaxSpoolBytes int64
	Log           *slog.Logger
}

// CaptureStats counts what the capturer did since it started.
type CaptureStats struct {
	// Captured records were appended to the spool; Dropped ones could not be (the spool was full
	// or its disk failed); Written ones are in their destination; Failed ones were refused by it
	// (the role may not write there); Damaged lines of the spool could not be read at replay.
	Captured, Dropped, Written, Failed, Damaged int64
	Files                                       int64 // objects written
	// Spooled is what the spool holds on disk, in bytes.
	Spooled   int64
	LastError string
}

// Capturer spools captured invocations and uploads them in the background, once started.
type Capturer struct {
	o       CaptureOptions
	sp      *spool
	left    []string      // segments a previous process left, uploaded first
	full    chan struct{} // a segment reached MaxFileBytes
	flushc  chan chan struct{}
	stop    chan struct{}
	done    chan struct{}
	failing atomic.Bool // the spool refuses appends (logged once until it takes one again)

	mu               sync.Mutex
	started, stopped bool

	captured, dropped, written, failed, damaged, files atomic.Int64
	lastErr                                            atomic.Pointer[string]
}

// NewCapturer opens the spool: records are appended from now on. Start starts the uploader,
// which first uploads what a previous process left in the spool; Close stops it after uploading
// what it holds.
func NewCapturer(o CaptureOptions) (*Capturer, error) {
	if o.Interval <= 0 {
		o.Interval = 5 * time.Second
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 4 << 20
	}
	if o.MaxSpoolBytes <= 0 {
		o.MaxSpoolBytes = 1 << 30
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	sp, left, err := openSpool(o.Spool)
	if err != nil {
		return nil, err
	}
	if len(left) > 0 {
		o.Log.Info("data capture: uploading the spool's segments left by the previous run", "segments", len(left), "dir", o.Spool)
	}
	c := &Capturer{o: o, sp: sp, left: left, full: make(chan struct{}, 1), flushc: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	return c, nil
}

// Start starts the uploader (once; not after Close).
func (c *Capturer) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.stopped {
		return
	}
	c.started = true
	go c.run(c.left)
}

// Stats returns the capturer's counters.
func (c *Capturer) Stats() CaptureStats {
	s := CaptureStats{Captured: c.captured.Load(), Dropped: c.dropped.Load(), Written: c.written.Load(), Failed: c.failed.Load(),
		Damaged: c.damaged.Load(), Files: c.files.Load(), Spooled: c.sp.bytes.Load()}
	if p := c.lastErr.Load(); p != nil {
		s.LastError = *p
	}
	return s
}

// offer appends r to the spool; it never waits for the disk, only for the write(2) into the page
// cache. A record the spool cannot take is dropped and counted.
func (c *Capturer) offer(r *capture) {
	line := lineBuffers.Get().(*bytes.Buffer)
	defer func() {
		if line.Cap() <= 64<<10 {
			line.Reset()
			lineBuffers.Put(line)
		}
	}()
	r.spoolLine(line)
	full, err := c.sp.append(line.Bytes(), c.o.MaxSpoolBytes, int64(c.o.MaxFileBytes))
	if err != nil {
		c.dropped.Add(1)
		c.setErr(err.Error())
		if !c.failing.Swap(true) {
			c.o.Log.Warn("data capture: the spool takes no more records; they are dropped until it does", "dir", c.o.Spool, "err", err)
		}
		return
	}
	c.failing.Store(false)
	c.captured.Add(1)
	if full {
		select {
		case c.full <- struct{}{}:
		default:
		}
	}
}

// Flush uploads every record captured before it was called (those whose destination refuses
// them are counted as failed; those a passing failure kept stay in the spool). Before Start it
// does nothing.
func (c *Capturer) Flush() {
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if !started {
		return
	}
	ack := make(chan struct{})
	select {
	case c.flushc <- ack:
		<-ack
	case <-c.done:
	}
}

// Close uploads what the spool holds and stops the uploader. What cannot be uploaded now stays
// in the spool for the next start; so does everything when the uploader never started.
func (c *Capturer) Close() {
	c.mu.Lock()
	started, stopped := c.started, c.stopped
	c.stopped = true
	c.mu.Unlock()
	switch {
	case stopped:
		if started {
			<-c.done
		}
	case started:
		close(c.stop)
		<-c.done
	default:
		c.sp.close()
	}
}

func (c *Capturer) setErr(msg string) { c.lastErr.Store(&msg) }

func (c *Capturer) run(pending []string) {
	defer close(c.done)
	tick := time.NewTicker(c.o.Interval)
	defer tick.Stop()
	var progress segmentProgress
	upload := func() {
		for len(pending) > 0 {
			if err := c.upload(pending[0], &progress); err != nil {
				c.setErr(err.Error())
				c.o.Log.Warn("data capture: a spool segment could not be uploaded; it is tried again", "segment", pending[0], "err", err)
				return
			}
			pending = pending[1:]
		}
	}
	seal := func() {
		name, err := c.sp.seal()
		if err != nil {
			c.setErr(err.Error())
			c.o.Log.Warn("data capture: cannot open a new spool segment", "dir", c.o.Spool, "err", err)
		}
		if name != "" {
			pending = append(pending, name)
		}
	}
	upload() // what the previous process left
	for {
		select {
		case <-c.stop:
			seal()
			upload()
			c.sp.close()
			return
		case <-tick.C:
			seal()
			upload()
		case <-c.full:
			seal()
			upload()
		case ack := <-c.flushc:
			seal()
			upload()
			close(ack)
		}
	}
}

// segmentProgress remembers how many objects of the segment at the head of the queue are
// written, so a retry in this process does not count them twice (writing them again would be
// harmless: the same keys, the same bytes).
type segmentProgress struct {
	segment string
	objects int
}

// upload writes the objects of one sealed segment and deletes it. It returns an error, keeping
// the segment, when a write failed in a way that may pass.
func (c *Capturer) upload(path string, progress *segmentProgress) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	seg := filepath.Base(path)
	if progress.segment != seg {
		*progress = segmentProgress{segment: seg}
	}
	files, damaged := readSegment(b, c.o.MaxFileBytes)
	if damaged > 0 && progress.objects == 0 {
		c.damaged.Add(int64(damaged))
		c.o.Log.Warn("data capture: skipped spool lines that cannot be read (cut short by a kill, or damaged)", "segment", seg, "lines", damaged)
	}
	for i, f := range files {
		if i < progress.objects {
			continue
		}
		key := f.dir + "/" + objectID(seg, i) + ".jsonl"
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := c.put(ctx, f, key)
		cancel()
		switch {
		case err == nil:
			c.written.Add(int64(f.records))
			c.files.Add(1)
		case refusedForGood(err):
			c.failed.Add(int64(f.records))
			msg := "s3://" + f.bucket + "/" + key + ": " + errs.Message(err)
			c.setErr(msg)
			c.o.Log.Warn("data capture could not be written; its records are dropped", "account", f.account, "role", f.role,
				"object", "s3://"+f.bucket+"/"+key, "records", f.records, "err", err)
		default:
			return fmt.Errorf("s3://%s/%s: %w", f.bucket, key, err)
		}
		progress.objects = i + 1
	}
	if err := c.sp.remove(path, int64(len(b))); err != nil {
		return err
	}
	*progress = segmentProgress{}
	return nil
}

// refusedForGood reports whether a write failed for a reason another attempt does not change:
// the role may not write the destination, or it does not exist.
func refusedForGood(err error) bool {
	switch errs.KindOf(err) {
	case errs.AccessDenied, errs.Unauthenticated, errs.NotFound, errs.Invalid:
		return true
	}
	return false
}

func (c *Capturer) put(ctx context.Context, f *captureFile, key string) error {
	if f.role == "" {
		return errs.E(errs.AccessDenied, "the variant's model has no execution role to write data capture as")
	}
	caller, err := c.o.Sessions.EngineSession(ctx, f.role, ServicePrincipal)
	if err != nil {
		return err
	}
	return c.o.Writer.PutObject(ctx, caller, f.bucket, key, f.body.Bytes())
}

// objectID names the i-th object of a segment: a UUID-shaped digest of both, the same at every
// replay of the segment. Segment names hold a random part, so spools of different servers
// writing to one destination do not collide.
func objectID(segment string, i int) string {
	sum := sha256.Sum256([]byte(segment + "\x00" + strconv.Itoa(i)))
	sum[6] = sum[6]&0x0f | 0x80 // version 8: a UUID of a custom (here, derived) kind
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// spoolHeader is where a spooled record goes; it is the start of its spool line, the record
// ("l") its end.
type spoolHeader struct {
	Account string `json:"a"`
	Role    string `json:"r"`
	Bucket  string `json:"b"`
	Dir     string `json:"d"`
}

// spoolLine appends r to b as one line of the spool: {"a":…,"r":…,"b":…,"d":…,"l":<record>}.
func (r *capture) spoolLine(b *bytes.Buffer) {
	b.WriteString(`{"a":`)
	writeJSONString(b, r.account)
	b.WriteString(`,"r":`)
	writeJSONString(b, r.role)
	b.WriteString(`,"b":`)
	writeJSONString(b, r.cfg.bucket)
	b.WriteString(`,"d":`)
	writeJSONString(b, r.dir())
	b.WriteString(`,"l":`)
	r.encode(b) // ends with a newline
	b.Truncate(b.Len() - 1)
	b.WriteString("}\n")
}

// writeJSONString writes s as a JSON string: quotes, backslashes and control characters escaped,
// the rest as it is.
func writeJSONString(b *bytes.Buffer, s string) {
	const hexDigits = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

var lineBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// captureFile is one object of a segment: records of one destination file, in spool order.
type captureFile struct {
	account, role, bucket, dir string
	records                    int
	body                       bytes.Buffer
}

// readSegment groups a segment's lines into objects: per destination file (account, role,
// bucket, key prefix) in the order of their first record, each cut at maxBytes. Lines that do
// not read — the last one cut short by a kill, or any a machine crash damaged — are counted and
// skipped. The grouping depends only on the segment's bytes, so a replay makes the same objects.
func readSegment(b []byte, maxBytes int) (files []*captureFile, damaged int) {
	open := map[spoolHeader]*captureFile{}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 { // no newline: a write the kill cut short
			damaged++
			break
		}
		line := b[:i]
		b = b[i+1:]
		h, rec, ok := splitSpoolLine(line)
		if !ok {
			damaged++
			continue
		}
		f := open[h]
		if f == nil || f.body.Len() >= maxBytes {
			f = &captureFile{account: h.Account, role: h.Role, bucket: h.Bucket, dir: h.Dir}
			open[h] = f
			files = append(files, f)
		}
		f.body.Write(rec)
		f.body.WriteByte('\n')
		f.records++
	}
	return files, damaged
}

// splitSpoolLine reads a spool line as spoolLine writes it: the header, whose strings cannot
// hold an unescaped quote, ends at the first `,"l":`; the record is the rest but the closing
// brace, and must be valid JSON.
func splitSpoolLine(line []byte) (h spoolHeader, rec []byte, ok bool) {
	const sep = `,"l":`
	i := bytes.Index(line, []byte(sep))
	if i < 0 || len(line) < i+len(sep)+2 || line[len(line)-1] != '}' {
		return h, nil, false
	}
	head := append(line[:i:i], '}')
	rec = line[i+len(sep) : len(line)-1]
	if json.Unmarshal(head, &h) != nil || h.Bucket == "" || h.Dir == "" || !json.Valid(rec) {
		return h, nil, false
	}
	return h, rec, true
}

// spool is the directory of segments; one of them is open for appends.
type spool struct {
	dir   string
	bytes atomic.Int64 // on disk, every segment together

	mu     sync.Mutex
	f      *os.File // the open segment; nil when it could not be opened (retried at the next append)
	name   string
	size   int64 // of the open segment
	seq    uint64
	closed bool
}

const segmentSuffix = ".spool"

// openSpool opens the spool in dir and returns the segments a previous process left, oldest
// first; it opens a new segment after them.
func openSpool(dir string) (*spool, []string, error) {
	if dir == "" {
		return nil, nil, errs.E(errs.Invalid, "data capture needs a spool directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, errs.E(errs.Internal, "cannot create the data capture spool %s: %v", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, errs.E(errs.Internal, "cannot read the data capture spool %s: %v", dir, err)
	}
	sp := &spool{dir: dir}
	var left []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, segmentSuffix) {
			continue
		}
		seq, _, ok := strings.Cut(name, "-")
		n, err := strconv.ParseUint(seq, 10, 64)
		if !ok || err != nil {
			continue
		}
		sp.seq = max(sp.seq, n)
		if info, err := e.Info(); err == nil {
			sp.bytes.Add(info.Size())
		}
		left = append(left, filepath.Join(dir, name))
	}
	sort.Strings(left) // sequence numbers are zero-padded
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if err := sp.openNext(); err != nil {
		return nil, nil, err
	}
	return sp, left, nil
}

// openNext opens the next segment; mu is held.
func (sp *spool) openNext() error {
	sp.seq++
	name := filepath.Join(sp.dir, fmt.Sprintf("%020d-%s%s", sp.seq, randid.String(12, "0123456789abcdefghijklmnopqrstuvwxyz"), segmentSuffix))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		sp.f, sp.name, sp.size = nil, "", 0
		return errs.E(errs.Internal, "cannot open a data capture spool segment: %v", err)
	}
	sp.f, sp.name, sp.size = f, name, 0
	return nil
}

// append writes line to the open segment with one write(2); full says the segment reached
// maxSegment and should be sealed.
func (sp *spool) append(line []byte, maxSpool, maxSegment int64) (full bool, err error) {
	if sp.bytes.Load()+int64(len(line)) > maxSpool {
		return false, errs.E(errs.LimitExceeded, "the data capture spool holds %d bytes, its limit", sp.bytes.Load())
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.closed {
		return false, errs.E(errs.Unavailable, "data capture has stopped")
	}
	if sp.f == nil {
		if err := sp.openNext(); err != nil {
			return false, err
		}
	}
	n, err := sp.f.Write(line)
	sp.size += int64(n)
	sp.bytes.Add(int64(n))
	if err != nil {
		return false, errs.E(errs.Internal, "cannot append to the data capture spool: %v", err)
	}
	return sp.size >= maxSegment, nil
}

// seal closes the open segment, if it holds anything, and opens the next; it returns the sealed
// segment's path ("" when nothing was sealed).
func (sp *spool) seal() (string, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.f == nil {
		return "", sp.openNext()
	}
	if sp.size == 0 {
		return "", nil
	}
	name := sp.name
	sp.f.Close()
	return name, sp.openNext()
}

// remove deletes an uploaded segment of size bytes.
func (sp *spool) remove(path string, size int64) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errs.E(errs.Internal, "cannot delete the uploaded data capture segment %s: %v", path, err)
	}
	sp.bytes.Add(-size)
	return nil
}

// close closes the open segment, deleting it when it is empty.
func (sp *spool) close() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.closed = true
	if sp.f == nil {
		return
	}
	sp.f.Close()
	if sp.size == 0 {
		os.Remove(sp.name)
	}
	sp.f = nil
}
