# A plain Flask model server under SageMaker's serving contract, as a user would write one:
# it reads its model from /opt/ml/model, listens on SAGEMAKER_BIND_TO_PORT, answers GET /ping and
# POST /invocations. Its model is one number, a coefficient: each CSV row's prediction is the sum
# of its values times it. The answer's custom attributes echo the request's and name this process.
import os
import sys

import flask

model_dir = os.path.join(os.environ.get("JOB_OPT_ML", "/opt/ml"), "model")
with open(os.path.join(model_dir, "coef.txt")) as f:
    coef = float(f.read())

app = flask.Flask(__name__)


@app.get("/ping")
def ping():
    if os.path.exists(os.path.join(model_dir, "sick")):
        return "sick", 503
    return "", 200


@app.post("/invocations")
def invocations():
    if flask.request.mimetype != "text/csv":
        return "this model speaks text/csv, not %s" % flask.request.mimetype, 415
    rows = flask.request.get_data(as_text=True).strip().splitlines()
    try:
        out = ["%g" % (coef * sum(float(v) for v in row.split(","))) for row in rows]
    except ValueError as e:
        return "bad row: %s" % e, 400
    attrs = flask.request.headers.get("X-Amzn-SageMaker-Custom-Attributes", "")
    accept = flask.request.headers.get("Accept", "")
    resp = flask.Response("\n".join(out) + "\n", mimetype="text/csv")
    resp.headers["X-Amzn-SageMaker-Custom-Attributes"] = "%s;accept=%s;pid=%d;argv=%s" % (attrs, accept, os.getpid(), ",".join(sys.argv[1:]))
    return resp


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ["SAGEMAKER_BIND_TO_PORT"]), threaded=True)
