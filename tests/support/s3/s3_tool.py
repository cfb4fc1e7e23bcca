#!/usr/bin/python3
"""An independent S3 client for the tests (boto3, not our code).

s3_tool.py ENDPOINT BUCKET COMMAND ARGS...
  get KEY          -> {"size": N, "sha256": HEX}  (exit 3 when missing)
  text KEY         -> the object as text
  head KEY         -> {"size", "etag", "metadata"} (exit 3 when missing)
  uploads PREFIX   -> [{"key", "upload_id"}, ...] unfinished multipart uploads
  keys PREFIX      -> [key, ...]
Access key and secret: env S3_TOOL_KEY / S3_TOOL_SECRET.
"""
import hashlib, json, os, sys
import boto3, botocore
from botocore.config import Config

ep, bucket, cmd = sys.argv[1], sys.argv[2], sys.argv[3]
arg = sys.argv[4] if len(sys.argv) > 4 else ""
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                  aws_access_key_id=os.environ["S3_TOOL_KEY"],
                  aws_secret_access_key=os.environ["S3_TOOL_SECRET"],
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                retries={"max_attempts": 3}))
try:
    if cmd == "get":
        body = s3.get_object(Bucket=bucket, Key=arg)["Body"]
        h, n = hashlib.sha256(), 0
        for chunk in iter(lambda: body.read(1 << 20), b""):
            h.update(chunk); n += len(chunk)
        print(json.dumps({"size": n, "sha256": h.hexdigest()}))
    elif cmd == "text":
        sys.stdout.write(s3.get_object(Bucket=bucket, Key=arg)["Body"].read().decode())
    elif cmd == "head":
        r = s3.head_object(Bucket=bucket, Key=arg)
        print(json.dumps({"size": r["ContentLength"], "etag": r["ETag"], "metadata": r.get("Metadata", {})}))
    elif cmd == "uploads":
        r = s3.list_multipart_uploads(Bucket=bucket, Prefix=arg)
        print(json.dumps([{"key": u["Key"], "upload_id": u["UploadId"]} for u in r.get("Uploads", [])]))
    elif cmd == "keys":
        r = s3.list_objects_v2(Bucket=bucket, Prefix=arg)
        print(json.dumps([o["Key"] for o in r.get("Contents", [])]))
    else:
        sys.exit("unknown command " + cmd)
except botocore.exceptions.ClientError as e:
    if e.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
        sys.exit(3)
    raise
