// Package xgboost holds Slipway's XGBoost-compatible gradient-boosted tree models: the in-memory model
// (Booster), XGBoost 1.7's model formats (JSON and the legacy binary format read and written byte for byte
// as XGBoost 1.7.4 writes them; UBJSON read; a pickled xgboost.Booster written and read — that object
// shape only, never a general unpickler), a predictor that matches XGBoost's predictions, and the
// trainer.
//
// Invariants:
//   - A Booster returned by LoadModel or ReadModel has passed Validate: every array of a tree has one entry
//     per node, every inner node has two in-range children reached once from the root, every split feature
//     is below NumFeature, and the objective is one this package predicts for.
//   - Prediction follows XGBoost 1.7: margins start at the objective's ProbToMargin(base_score), leaf values
//     are added in float32 in tree order, a row goes left when x < split_condition (float32 comparison) and a
//     missing value (NaN) goes to the default child; the objective's transform is applied last.
//   - Predict and PredictRow never modify the Booster's exported fields and are safe for concurrent use.
//   - WriteJSON(ReadModel(x)) is a fixed point: writing what was read and reading it again gives the same
//     bytes (fuzzed), and for a JSON file written by XGBoost 1.7.4 it gives that file back.
package xgboost
