package artifacts

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/identity"
)

// ListInput is a ListObjects(V2) request. ContinuationToken (V2) is what an earlier answer
// gave; StartAfter (V2) and Marker (V1) are keys.
type ListInput struct {
	Bucket, Prefix, Delimiter, StartAfter, ContinuationToken string
	MaxKeys                                                  int
	Marker                                                   string
}

// ListOutput is a page of a listing. NextContinuationToken continues it (V2); NextMarker is
// the last key or common prefix of the page (V1).
type ListOutput struct {
	Objects               []ObjectInfo
	CommonPrefixes        []string
	NextContinuationToken string
	IsTruncated           bool
	NextMarker            string
}

// DefaultMaxKeys is S3's page size, and the largest.
const DefaultMaxKeys = 1000

// ListObjects lists a bucket's objects in key order, with common prefixes rolled up at the
// delimiter.
func (s *Service) ListObjects(ctx context.Context, caller identity.Caller, in ListInput) (ListOutput, error) {
	b, err := s.bucket(ctx, in.Bucket)
	if err != nil {
		return ListOutput{}, err
	}
	if in.MaxKeys < 0 {
		return ListOutput{}, invalidArgument("max-keys must be 0 or more")
	}
	keys := map[string][]string{"s3:prefix": {in.Prefix}, "s3:max-keys": {strconv.Itoa(in.MaxKeys)}}
	if in.Delimiter != "" {
		keys["s3:delimiter"] = []string{in.Delimiter}
	}
	if err := s.authorize(ctx, caller, "ListBucket", b, arn.S3Bucket(in.Bucket), keys); err != nil {
		return ListOutput{}, err
	}
	max := in.MaxKeys
	if max == 0 && in.ContinuationToken == "" && in.StartAfter == "" && in.Marker == "" {
		max = DefaultMaxKeys // 0 is "unset" for the contract's callers; the wire passes the default
	}
	max = min(max, DefaultMaxKeys)
	after, afterPrefix := in.StartAfter, false
	if in.Marker != "" {
		after = in.Marker
		afterPrefix = in.Delimiter != "" && strings.HasSuffix(after, in.Delimiter) && strings.HasPrefix(after, in.Prefix) && len(after) > len(in.Prefix)
	}
	if in.ContinuationToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(in.ContinuationToken)
		if err != nil || len(raw) < 1 || (raw[0] != 'k' && raw[0] != 'p') {
			return ListOutput{}, invalidArgument("The continuation token provided is incorrect")
		}
		after, afterPrefix = string(raw[1:]), raw[0] == 'p'
	}
	return s.list(ctx, in.Bucket, in.Prefix, in.Delimiter, after, afterPrefix, max)
}

// nextPrefix returns the least string above every string that begins with p, or "" when
// there is none that is valid UTF-8 (p ends in U+10FFFF).
func nextPrefix(p string) string {
	r, size := utf8.DecodeLastRuneInString(p)
	if r == utf8.RuneError || r == utf8.MaxRune {
		return ""
	}
	r++
	if r >= 0xD800 && r <= 0xDFFF {
		r = 0xE000
	}
	return p[:len(p)-size] + string(r)
}

func (s *Service) list(ctx context.Context, bucket, prefix, delim, after string, afterPrefix bool, max int) (ListOutput, error) {
	var out ListOutput
	from, incl := prefix, true
	if after != "" && after >= prefix {
		from, incl = after, false
		if afterPrefix {
			if np := nextPrefix(after); np != "" {
				from, incl = np, true
			}
		}
	}
	skip := "" // a common prefix already answered
	if afterPrefix {
		skip = after
	}
	count, last, lastIsPrefix := 0, "", false
	batch := min(max+1, DefaultMaxKeys+1)
	for {
		objs, err := s.store.ListObjects(ctx, bucket, from, incl, batch)
		if err != nil {
			return ListOutput{}, err
		}
		requery := false
		for _, o := range objs {
			from, incl = o.Key, false
			if !strings.HasPrefix(o.Key, prefix) {
				return out, nil
			}
			if skip != "" && strings.HasPrefix(o.Key, skip) {
				continue
			}
			cp := ""
			if delim != "" {
				if i := strings.Index(o.Key[len(prefix):], delim); i >= 0 {
					cp = o.Key[:len(prefix)+i+len(delim)]
				}
			}
			if count == max {
				out.IsTruncated = true
				out.NextMarker = last
				tag := byte('k')
				if lastIsPrefix {
					tag = 'p'
				}
				out.NextContinuationToken = base64.RawURLEncoding.EncodeToString(append([]byte{tag}, last...))
				return out, nil
			}
			count++
			if cp != "" {
				out.CommonPrefixes = append(out.CommonPrefixes, cp)
				last, lastIsPrefix, skip = cp, true, cp
				if np := nextPrefix(cp); np != "" {
					from, incl, requery = np, true, true
					break
				}
				continue
			}
			out.Objects = append(out.Objects, o.info())
			last, lastIsPrefix = o.Key, false
		}
		if !requery && len(objs) < batch {
			return out, nil
		}
	}
}
