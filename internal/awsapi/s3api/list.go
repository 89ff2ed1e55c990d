package s3api

import (
	"context"
	"time"

	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/errs"
)

type listIn struct {
	Bucket, Prefix, Delimiter, EncodingType string
	MaxKeys                                 *int
	Marker                                  string // V1
	ContinuationToken, StartAfter           string // V2
	FetchOwner                              bool
}

type objectEntry struct {
	Key               string
	LastModified      time.Time
	ETag              string
	Size              int64
	StorageClass      string
	Owner             *ownerOut `json:",omitempty"`
	ChecksumAlgorithm []string  `json:",omitempty"`
	ChecksumType      string    `json:",omitempty"`
}

type prefixEntry struct{ Prefix string }

func (in *listIn) query() (artifacts.ListInput, int, error) {
	switch in.EncodingType {
	case "", "url":
	default:
		return artifacts.ListInput{}, 0, errs.E(errs.Invalid, "Invalid Encoding Method specified in Request").WithCode("InvalidArgument")
	}
	max := artifacts.DefaultMaxKeys
	if in.MaxKeys != nil {
		if *in.MaxKeys < 0 {
			return artifacts.ListInput{}, 0, errs.E(errs.Invalid, "Provided max-keys not an integer or within integer range").WithCode("InvalidArgument")
		}
		max = min(*in.MaxKeys, artifacts.DefaultMaxKeys)
	}
	return artifacts.ListInput{Bucket: in.Bucket, Prefix: in.Prefix, Delimiter: in.Delimiter, MaxKeys: max,
		ContinuationToken: in.ContinuationToken, StartAfter: in.StartAfter, Marker: in.Marker}, max, nil
}

func entries(out artifacts.ListOutput, url, owner bool) ([]objectEntry, []prefixEntry) {
	objs := make([]objectEntry, 0, len(out.Objects))
	for _, o := range out.Objects {
		e := objectEntry{Key: urlEncode(o.Key, url), LastModified: o.LastModified, ETag: o.ETag, Size: o.Size, StorageClass: "STANDARD"}
		if owner {
			e.Owner = &ownerOut{ID: o.Owner, DisplayName: o.Owner}
		}
		for a := range o.Checksums {
			e.ChecksumAlgorithm = append(e.ChecksumAlgorithm, a)
			e.ChecksumType = o.ChecksumType
		}
		objs = append(objs, e)
	}
	var cps []prefixEntry
	for _, p := range out.CommonPrefixes {
		cps = append(cps, prefixEntry{Prefix: urlEncode(p, url)})
	}
	return objs, cps
}

func (a *API) listObjectsV2(ctx context.Context, req *awsapi.Request, in *listIn) (any, error) {
	q, max, err := in.query()
	if err != nil {
		return nil, err
	}
	q.Marker = ""
	if max == 0 {
		q.MaxKeys = 0
	}
	res, err := a.Artifacts.ListObjects(ctx, req.Caller, q)
	if err != nil {
		return nil, err
	}
	url := in.EncodingType == "url"
	objs, cps := entries(res, url, in.FetchOwner)
	return struct {
		Name                  string
		Prefix                string
		Delimiter             string `json:",omitempty"`
		MaxKeys               int
		KeyCount              int
		IsTruncated           bool
		EncodingType          string `json:",omitempty"`
		ContinuationToken     string `json:",omitempty"`
		NextContinuationToken string `json:",omitempty"`
		StartAfter            string `json:",omitempty"`
		Contents              []objectEntry
		CommonPrefixes        []prefixEntry `json:",omitempty"`
	}{
		Name: in.Bucket, Prefix: urlEncode(in.Prefix, url), Delimiter: urlEncode(in.Delimiter, url), MaxKeys: max,
		KeyCount: len(objs) + len(cps), IsTruncated: res.IsTruncated, EncodingType: in.EncodingType,
		ContinuationToken: in.ContinuationToken, NextContinuationToken: res.NextContinuationToken,
		StartAfter: urlEncode(in.StartAfter, url), Contents: objs, CommonPrefixes: cps,
	}, nil
}

func (a *API) listObjects(ctx context.Context, req *awsapi.Request, in *listIn) (any, error) {
	q, max, err := in.query()
	if err != nil {
		return nil, err
	}
	q.ContinuationToken, q.StartAfter = "", ""
	res, err := a.Artifacts.ListObjects(ctx, req.Caller, q)
	if err != nil {
		return nil, err
	}
	url := in.EncodingType == "url"
	objs, cps := entries(res, url, true)
	next := ""
	if res.IsTruncated && in.Delimiter != "" {
		next = urlEncode(res.NextMarker, url) // S3 gives NextMarker only with a delimiter
	}
	return struct {
		Name           string
		Prefix         string
		Marker         string
		Delimiter      string `json:",omitempty"`
		MaxKeys        int
		IsTruncated    bool
		EncodingType   string `json:",omitempty"`
		NextMarker     string `json:",omitempty"`
		Contents       []objectEntry
		CommonPrefixes []prefixEntry `json:",omitempty"`
	}{
		Name: in.Bucket, Prefix: urlEncode(in.Prefix, url), Marker: urlEncode(in.Marker, url), Delimiter: urlEncode(in.Delimiter, url),
		MaxKeys: max, IsTruncated: res.IsTruncated, EncodingType: in.EncodingType, NextMarker: next, Contents: objs, CommonPrefixes: cps,
	}, nil
}
