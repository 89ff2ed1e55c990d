# A model server under SageMaker's serving contract whose model is an HTTP status: it reads
# /opt/ml/model/status.txt and answers every POST /invocations with that status (a model whose
# artifact makes inference fail when it is not 200). GET /ping is always healthy.
import http.server
import os

model_dir = os.path.join(os.environ.get("JOB_OPT_ML", "/opt/ml"), "model")
with open(os.path.join(model_dir, "status.txt")) as f:
    status = int(f.read())


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(200, b"")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.answer(status, b"1\n" if status == 200 else b"the model failed\n")

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["SAGEMAKER_BIND_TO_PORT"])), Handler).serve_forever()
