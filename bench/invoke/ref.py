"""The reference side of bench/invoke: the real XGBoost (Debian's python3-xgboost) trains the
abalone model, times its own predict on a batch, and serves the model behind Flask
(Debian's python3-flask) with SageMaker's container contract, as a user would run it instead.

  ref.py train ABALONE_CSV MODEL_JSON
  ref.py predict MODEL_JSON ROWS_CSV REPS     prints the best predict wall time in seconds
  ref.py serve MODEL_JSON PORT
"""
import sys, time
import numpy as np
import xgboost as xgb


def load(path):
    X, y = [], []
    for line in open(path).read().splitlines()[1:]:
        p = line.split(",")
        X.append([float(p[0] == "M"), float(p[0] == "F"), float(p[0] == "I")] + [float(v) for v in p[1:8]])
        y.append(float(p[8]))
    return np.array(X, dtype=np.float32), np.array(y, dtype=np.float32)


def main():
    cmd = sys.argv[1]
    if cmd == "train":
        X, y = load(sys.argv[2])
        b = xgb.train({"objective": "reg:squarederror", "max_depth": 5, "eta": 0.2, "nthread": 1}, xgb.DMatrix(X, label=y), 50)
        b.save_model(sys.argv[3])
        return
    booster = xgb.Booster(model_file=sys.argv[2])
    booster.set_param({"nthread": 1})
    if cmd == "predict":
        X = np.loadtxt(sys.argv[3], delimiter=",", dtype=np.float32, ndmin=2)
        best = 1e9
        for _ in range(int(sys.argv[4])):
            t = time.perf_counter()
            booster.predict(xgb.DMatrix(X))
            best = min(best, time.perf_counter() - t)
        print(best)
        return
    import io
    from flask import Flask, Response, request
    app = Flask(__name__)

    @app.get("/ping")
    def ping():
        return ""

    @app.post("/invocations")
    def invocations():
        X = np.loadtxt(io.StringIO(request.get_data(as_text=True)), delimiter=",", dtype=np.float32, ndmin=2)
        out = booster.predict(xgb.DMatrix(X))
        return Response("\n".join(repr(float(v)) for v in out) + "\n", mimetype="text/csv")

    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app.run(host="127.0.0.1", port=int(sys.argv[3]), threaded=True)


main()
