// Package linear is the built-in linear learner: least-squares regression and logistic binary
// classification with an intercept and L1/L2 regularisation, trained to the exact optimum of
//
//	F(β, b) = (1/W) Σᵢ wᵢ ℓ(yᵢ, xᵢ·β + b) + l1·‖β‖₁ + (l2/2)·‖β‖²
//
// where W = Σᵢ wᵢ, ℓ is ½(y−f)² for the regressor and log(1+eᶠ) − y·f (y ∈ {0,1}) for the binary
// classifier, and the intercept b is not penalised. That is scikit-learn's ElasticNet(alpha=l1+l2,
// l1_ratio=l1/(l1+l2)) for regression, Ridge(alpha=n·l2) when l1 = 0, LinearRegression when both
// are 0 (the minimum-norm solution), and LogisticRegression(C=1/(n·l2)) or (penalty="l1",
// C=1/(n·l1)) for classification.
//
// Solvers: the regressor is one weighted quadratic problem; the classifier is solved by proximal
// Newton steps (each a weighted quadratic problem) with a backtracking line search on F. A quadratic
// problem is solved on its d×d Gram matrix: by Cholesky when l1 = 0 and l2 > 0, by a
// pseudo-inverse (symmetric eigendecomposition) when both are 0, and by cyclic coordinate descent
// when l1 > 0. Training costs O(n·d²) per Newton step, so it suits the tabular data sets of the
// built-in pipelines (thousands to millions of rows, tens to hundreds of features).
//
// The model file is a small versioned JSON document ([Format], [Version]), written atomically.
// Predict returns the prediction xᵢ·β + b for the regressor and the probability σ(xᵢ·β + b) of
// class 1 for the binary classifier; a missing (NaN) feature is an error, since a linear model has
// no default for it (apply the prep transform first).
package linear
