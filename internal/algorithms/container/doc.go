// Package container holds the built-in entrypoints that jobs run as `slipway container <name>`: the
// programs behind the images Slipway provides itself, following SageMaker's container contract on
// files — the /opt/ml layout, hyperparameters.json and inputdataconfig.json in, the model and
// output/failure out.
//
//   - XGBoost (RunXGBoost): SageMaker's XGBoost image in algorithm mode. Hyperparameters are the
//     strings hyperparameters.json holds; channels train (required) and validation (optional) hold
//     CSV (label first, no header) or libsvm files; each round prints "[i]#011train-rmse:…" as the
//     image does; model/xgboost-model is a pickled Booster for images before 1.3-1 and XGBoost's
//     binary format from 1.3-1 on, as those images write it.
//   - Script (RunScript): script mode — the submitted source directory is unpacked into the code
//     directory and the interpreter runs the program with the hyperparameters as --name value.
//   - Transform (RunTransform): batch transform with a model in the model directory.
//
// Invariants: a run that fails writes the reason to output/failure (the text the jobs engine
// reports as FailureReason) and returns an error; it never leaves a partial model: the model file is
// written atomically and only after training succeeded. Errors about the input name the
// hyperparameter (value and allowed range), the file, line and column.
//
// Paths: /opt/ml by default; the directory the executor names in JOB_OPT_ML (when it cannot remap
// /opt/ml), then the SM_* variables of the SageMaker training toolkit, override it (Paths).
package container
