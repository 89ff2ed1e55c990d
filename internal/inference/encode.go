package inference

import (
	"math"
	"strconv"
)

// encode appends the predictions (rows×k values, row-major) to dst in format f:
//   - text/csv: one line per row, a row's k values comma-separated;
//   - application/json: {"predictions": [{"score": v}, ...]}, {"scores": [...]} per row when k > 1;
//   - application/jsonlines: {"score": v} (or {"scores": [...]}) per line.
//
// These are the shapes of Slipway's batch transform (internal/algorithms/container), so an endpoint
// and a transform job answer alike. With mlflow (the request had one of MLflow's shapes), a JSON answer
// is MLflow's scoring server's: {"predictions": [v, ...]}, a list of k values per row when k > 1. A
// non-finite value is "nan"/"inf" in CSV and null in JSON.
func encode(dst []byte, f format, pred []float32, rows, k int, mlflow bool) []byte {
	if f == formatJSON && mlflow {
		dst = append(dst, `{"predictions":[`...)
		for i := 0; i < rows; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			if k > 1 {
				dst = append(dst, '[')
			}
			for j, v := range pred[i*k : (i+1)*k] {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = appendFloat(dst, v, true)
			}
			if k > 1 {
				dst = append(dst, ']')
			}
		}
		return append(dst, "]}"...)
	}
	if f == formatJSON {
		dst = append(dst, `{"predictions":[`...)
	}
	for i := 0; i < rows; i++ {
		row := pred[i*k : (i+1)*k]
		switch f {
		case formatCSV:
			for j, v := range row {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = appendFloat(dst, v, false)
			}
			dst = append(dst, '\n')
		case formatJSON, formatJSONLines:
			if f == formatJSON && i > 0 {
				dst = append(dst, ',')
			}
			if k == 1 {
				dst = append(dst, `{"score":`...)
				dst = appendFloat(dst, row[0], true)
			} else {
				dst = append(dst, `{"scores":[`...)
				for j, v := range row {
					if j > 0 {
						dst = append(dst, ',')
					}
					dst = appendFloat(dst, v, true)
				}
				dst = append(dst, ']')
			}
			dst = append(dst, '}')
			if f == formatJSONLines {
				dst = append(dst, '\n')
			}
		}
	}
	if f == formatJSON {
		dst = append(dst, "]}"...)
	}
	return dst
}

// appendFloat writes v in the shortest form that reads back as the same float32.
func appendFloat(dst []byte, v float32, json bool) []byte {
	f := float64(v)
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		if json {
			return append(dst, "null"...)
		}
		if math.IsNaN(f) {
			return append(dst, "nan"...)
		}
		if f > 0 {
			return append(dst, "inf"...)
		}
		return append(dst, "-inf"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 32)
}

// encodedSize is a generous estimate of the encoded size, so the body is allocated once.
func encodedSize(f format, rows, k int) int {
	per := k*16 + 2
	if f != formatCSV {
		per += 14
	}
	return rows*per + 24
}
