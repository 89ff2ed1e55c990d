"""S3 calls through boto3 against a test server speaking restXml (restxml_test.go).
Usage: python3 boto3_s3.py ENDPOINT. Prints one JSON object of what boto3 parsed."""
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

s3 = boto3.client(
    "s3", endpoint_url=sys.argv[1], region_name="us-east-1",
    aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)
out = {}
out["create"] = s3.create_bucket(Bucket="ds-data")["Location"]
put = s3.put_object(Bucket="ds-data", Key="abalone/train.csv", Body=b"1,2,3\n", ContentType="text/csv")
out["put_etag"] = put["ETag"]
got = s3.get_object(Bucket="ds-data", Key="abalone/train.csv")
out["get"] = {"Body": got["Body"].read().decode(), "ContentType": got["ContentType"],
              "ContentLength": got["ContentLength"], "LastModified": got["LastModified"].isoformat()}
lst = s3.list_objects_v2(Bucket="ds-data", Prefix="abalone/")
out["list"] = {"KeyCount": lst["KeyCount"], "IsTruncated": lst["IsTruncated"],
               "Contents": [{"Key": o["Key"], "Size": o["Size"], "LastModified": o["LastModified"].isoformat()} for o in lst["Contents"]]}
s3.put_bucket_tagging(Bucket="ds-data", Tagging={"TagSet": [{"Key": "team", "Value": "ds"}, {"Key": "stage", "Value": "dev"}]})
out["tags"] = s3.get_bucket_tagging(Bucket="ds-data")["TagSet"]
deleted = s3.delete_objects(Bucket="ds-data", Delete={"Objects": [{"Key": "a"}, {"Key": "b/c"}], "Quiet": False})
out["deleted"] = [d["Key"] for d in deleted["Deleted"]]
try:
    s3.get_object(Bucket="ds-data", Key="missing")
except ClientError as e:
    out["missing"] = {"code": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                      "message": e.response["Error"]["Message"]}
try:
    s3.head_object(Bucket="ds-data", Key="missing")
except ClientError as e:
    out["head_missing"] = {"code": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}
print(json.dumps(out, sort_keys=True))
