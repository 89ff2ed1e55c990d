#!/usr/bin/env python3
"""Extract the HTTP bindings of every operation of a botocore service model, for the routing
table test (route_test.go). Usage, from the module root:

    python3 internal/awsapi/testdata/routes/extract.py s3 > internal/awsapi/testdata/routes/s3.json

It asks the python3 on PATH where botocore lives. The output is derived from botocore's service
model (Apache License 2.0, Copyright Amazon.com, Inc. or its affiliates)."""
import glob, gzip, json, os, sys

import botocore

service = sys.argv[1]
path = sorted(glob.glob(os.path.join(os.path.dirname(botocore.__file__), "data", service, "*", "service-2.json*")))[-1]
with (gzip.open(path) if path.endswith(".gz") else open(path)) as f:
    model = json.load(f)
shapes = model["shapes"]
routes = []
for name, op in sorted(model["operations"].items()):
    r = {"name": name, "method": op["http"]["method"], "requestUri": op["http"]["requestUri"],
         "requiredQuery": [], "requiredHeaders": []}
    inp = op.get("input", {}).get("shape")
    if inp:
        sh = shapes[inp]
        for m in sh.get("required", []):
            ref = sh["members"][m]
            loc, wire = ref.get("location"), ref.get("locationName", m)
            if loc == "querystring":
                r["requiredQuery"].append(wire)
            elif loc == "header":
                r["requiredHeaders"].append(wire)
    routes.append(r)
json.dump({"service": service, "protocol": model["metadata"]["protocol"],
           "apiVersion": model["metadata"]["apiVersion"], "operations": routes}, sys.stdout, indent=1)
print()
