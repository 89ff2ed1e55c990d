package store

import (
	"context"
	"encoding/json"
)

// ReferencedBlobs calls fn with the key of every blob a part of an upload or an object refers
// to: the parts first, then the objects, so that a blob a completing upload moves from its part
// to its object during the walk is seen at least once. A blob never moves otherwise.
func (a *ArtifactsStore) ReferencedBlobs(ctx context.Context, fn func(key string) error) error {
	if err := a.eachDocument(ctx, `SELECT document FROM s3_parts`, func(doc []byte) error {
		var d partDoc
		if err := json.Unmarshal(doc, &d); err != nil {
			return err
		}
		return fn(d.Blob.Key)
	}); err != nil {
		return internal("store.ReferencedBlobs", err)
	}
	err := a.eachDocument(ctx, `SELECT document FROM s3_objects`, func(doc []byte) error {
		var d objectDoc
		if err := json.Unmarshal(doc, &d); err != nil {
			return err
		}
		for _, b := range d.Blobs {
			if err := fn(b.Key); err != nil {
				return err
			}
		}
		return nil
	})
	return internal("store.ReferencedBlobs", err)
}

// eachDocument runs query, which selects one text column, and calls fn with each row's value.
func (a *ArtifactsStore) eachDocument(ctx context.Context, query string, fn func(doc []byte) error) error {
	rows, err := a.db.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return err
		}
		if err := fn([]byte(doc)); err != nil {
			return err
		}
	}
	return rows.Err()
}
