// Package inference serves models in-process: the payload codecs of SageMaker's real-time inference
// with Accept negotiation, runtimes for XGBoost models as SageMaker's XGBoost containers write them and
// for Slipway's linear models, safe extraction of a model.tar.gz, and conversions from and to the Open
// Inference Protocol (KServe V2). It does no I/O beyond what it is handed (LoadDir and ExtractArchive
// read and write the directory they are given).
//
// Contracts (used by internal/serving/fleet and internal/serving):
//
//	type Request struct { ContentType, Accept, CustomAttributes string; Body []byte }
//	type Response struct { ContentType, CustomAttributes string; Body []byte }
//	type Model interface { Invoke(ctx, Request) (Response, error); Close() error }
//	type Error struct { Status int; Code, Message string; OriginalStatus int; OriginalMessage string } // 400, 413, 415, 424
//	func LoadDir(dir string) (Model, error)
//	func ExtractArchive(r io.Reader, dir string) error
//	func V2ToCSV(body []byte) (csv []byte, id string, err error)
//	func CSVToV2(modelName, id string, csvOut []byte) ([]byte, error)
//
// Payloads read: text/csv (features only, one row per line, an empty cell is missing), text/libsvm
// (a leading label is ignored, indices as XGBoost's: 0 is the first feature), application/json
// (SageMaker's {"instances": [[...] | {"features": [...]}]} and {"features": [...]}, MLflow's
// dataframe_split, dataframe_records, instances and inputs — rows, records or columns —, pandas' split
// orient {"columns", "data"} of MLflow 1.x clients, and a bare array of rows or records), application/jsonlines (one instance or document per line). Named features map onto the
// model's feature names when it has them, else by position. Responses: text/csv (one line per row),
// application/json ({"predictions": [{"score": v} | {"scores": [...]}]}, or MLflow's {"predictions":
// [v | [...]]} when the request had one of MLflow's shapes), application/jsonlines.
//
// Invariants:
//   - Invoke refuses bad input with an *Error and nothing else: 413 over MaxPayloadBytes, 415 naming the
//     supported types, 400 naming the row (1-based) and, for a wrong width, the expected feature count;
//     424 when the model itself fails (an error or a panic of the predictor). An *Error's Message is
//     safe to show to the caller.
//   - Invoke does not copy the request body and allocates nothing per row: rows are parsed in place into
//     pooled scratch memory; the response body is the one allocation that grows with the rows.
//   - One request holds at most 2^24 values, so sparse payloads cannot inflate memory.
//   - An XGBoost model predicts what XGBoost 1.7's Booster.predict does (package xgboost's predictor); a
//     pickle is read only as the shape of a pickled xgboost.Booster and never executed.
//   - ExtractArchive writes nothing outside its directory: no "..", no absolute names, links only
//     downwards, no hard links or devices, no duplicate paths, bounded size and entry count.
package inference
