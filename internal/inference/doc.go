// Package inference serves models in-process: the payload codecs of SageMaker's real-time inference
// (text/csv, text/libsvm, application/json in SageMaker's and MLflow's shapes, application/jsonlines)
// with Accept negotiation, runtimes for XGBoost models as SageMaker's XGBoost containers write them and
// for Slipway's linear models, safe extraction of a model.tar.gz, and conversions from and to the Open
// Inference Protocol (KServe V2). It does no I/O beyond what it is handed.
//
// Contracts (used by internal/serving/fleet and internal/serving):
//
//	type Request struct { ContentType, Accept, CustomAttributes string; Body []byte }
//	type Response struct { ContentType, CustomAttributes string; Body []byte }
//	type Model interface { Invoke(ctx, Request) (Response, error); Close() error }
//	type Error struct { Status int; Code, Message string }   // 400, 413, 415, 424
//	func LoadDir(dir string) (Model, error)
//	func ExtractArchive(r io.Reader, dir string) error
//	func V2ToCSV(body []byte) (csv []byte, id string, err error)
//	func CSVToV2(modelName, id string, csvOut []byte) ([]byte, error)
package inference
