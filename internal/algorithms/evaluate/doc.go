// Package evaluate computes the evaluation report of a model on a labelled test set and writes it
// as evaluation.json, in the shape SageMaker pipelines read with JsonGet and SageMaker model quality
// reports use: every metric is an object {"value": …} (and "standard_deviation" where one is
// defined), under "regression_metrics", "binary_classification_metrics" or
// "multiclass_classification_metrics".
//
// Definitions (unweighted, over the test rows; the same as scikit-learn's):
//   - regression: mse, rmse, mae, r2. mse.standard_deviation is the population standard deviation of
//     the residuals y − ŷ, exactly as SageMaker's abalone example computes it (np.std(y_test -
//     predictions)), so pipelines written for that example read the same figure; rmse carries the
//     same figure; mae.standard_deviation is that of the absolute errors.
//   - binary classification: the predicted class is 1 when the probability of class 1 is ≥ 0.5.
//     accuracy, precision, recall, f0_5, f1, f2, the four rates, auc (from the probabilities) and the
//     confusion matrix {"actual": {"predicted": count}}. A ratio with a zero denominator is 0, as
//     scikit-learn's zero_division default reports it; auc is null when the test set has one class.
//   - multiclass: the predicted class is the most probable one (the first on ties). accuracy,
//     weighted_precision, weighted_recall, weighted_f0_5, weighted_f1, weighted_f2 (per-class figures
//     averaged with the classes' support as weights) and the confusion matrix.
//
// Non-finite values are written as null, so the file is always valid JSON.
package evaluate
