# Prints "name<TAB>token" lines: every forged or broken token the hostile e2e
# test sends (tests/e2e/hostile/hostile_test.cpp). Argument: a JSON object
# {secret, issuer, audience, rsa_private, rsa_public, now}.
import base64, hashlib, hmac, json, sys
import jwt

cfg = json.loads(sys.argv[1])
secret, iss, aud, now = cfg["secret"], cfg["issuer"], cfg["audience"], int(cfg["now"])
rsa_private = open(cfg["rsa_private"], "rb").read()
rsa_public = open(cfg["rsa_public"], "rb").read()


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hand(header_json, payload_json, key):
    """A token whose JSON text is exactly as given (duplicate keys and all), signed HS256 with key."""
    signing_input = b64(header_json.encode()) + "." + b64(payload_json.encode())
    sig = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(sig)


good = {"sub": "mallory", "project_id": "acme", "iss": iss, "aud": aud, "iat": now, "exp": now + 600}
out = {}
out["valid"] = jwt.encode(good, secret, algorithm="HS256")
out["alg_none"] = jwt.encode(good, None, algorithm="none")
out["alg_none_upper"] = b64(b'{"alg":"NONE","typ":"JWT"}') + "." + b64(json.dumps(good).encode()) + "."
out["alg_none_with_sig"] = b64(b'{"alg":"none"}') + "." + out["valid"].split(".", 1)[1]
out["hs384"] = jwt.encode(good, secret, algorithm="HS384")
out["hs512"] = jwt.encode(good, secret, algorithm="HS512")
out["rs256_on_hs_server"] = jwt.encode(good, rsa_private, algorithm="RS256")
out["wrong_secret"] = jwt.encode(good, secret + "x", algorithm="HS256")
out["expired"] = jwt.encode({**good, "exp": now - 3600}, secret, algorithm="HS256")
out["not_yet_valid"] = jwt.encode({**good, "nbf": now + 3600}, secret, algorithm="HS256")
out["no_exp"] = jwt.encode({k: v for k, v in good.items() if k != "exp"}, secret, algorithm="HS256")
out["exp_string"] = jwt.encode({**good, "exp": str(now + 600)}, secret, algorithm="HS256")
out["wrong_iss"] = jwt.encode({**good, "iss": "evil"}, secret, algorithm="HS256")
out["no_iss"] = jwt.encode({k: v for k, v in good.items() if k != "iss"}, secret, algorithm="HS256")
out["wrong_aud"] = jwt.encode({**good, "aud": "someone-else"}, secret, algorithm="HS256")
out["aud_list_without_us"] = jwt.encode({**good, "aud": ["a", "b"]}, secret, algorithm="HS256")
out["crit_header"] = jwt.encode(good, secret, algorithm="HS256", headers={"crit": ["exp"]})
v = out["valid"].split(".")
out["malformed_base64_payload"] = v[0] + "." + v[1][:-2] + "*!" + "." + v[2]
out["padded_base64"] = v[0] + "=." + v[1] + "." + v[2]
out["non_canonical_base64"] = v[0] + "." + v[1] + "." + v[2][:-1] + chr(ord(v[2][-1]) ^ 1)
out["two_parts"] = v[0] + "." + v[1]
out["four_parts"] = out["valid"] + ".x"
out["empty_signature"] = v[0] + "." + v[1] + "."
out["payload_not_json"] = hand('{"alg":"HS256","typ":"JWT"}', "not json", secret.encode())
out["payload_array"] = hand('{"alg":"HS256","typ":"JWT"}', "[1,2]", secret.encode())
# Correctly signed, but a claim appears twice: project_id other first, acme last.
dup = ('{"sub":"mallory","project_id":"other","project_id":"acme","iss":"%s","aud":"%s","iat":%d,"exp":%d}'
       % (iss, aud, now, now + 600))
out["duplicate_claims"] = hand('{"alg":"HS256","typ":"JWT"}', dup, secret.encode())
out["duplicate_header_alg"] = hand('{"alg":"none","alg":"HS256"}', json.dumps(good), secret.encode())
# Over kMaxTokenSize (8 KiB) but under the 16 KiB header limit, validly signed.
out["huge_9k"] = jwt.encode({**good, "pad": "x" * 9000}, secret, algorithm="HS256")
# RS256 server: HS256 signed with the RSA public key's PEM bytes (key confusion).
rs_good = {"sub": "mallory", "project_id": "acme", "iat": now, "exp": now + 600}
out["rs_valid"] = jwt.encode(rs_good, rsa_private, algorithm="RS256")
out["rs_confusion_hs256_pem"] = hand('{"alg":"HS256","typ":"JWT"}', json.dumps(rs_good), rsa_public)
out["rs_confusion_hs256_pem_stripped"] = hand('{"alg":"HS256","typ":"JWT"}', json.dumps(rs_good), rsa_public.strip())
out["rs_alg_none"] = jwt.encode(rs_good, None, algorithm="none")
out["rs_ps256"] = jwt.encode(rs_good, rsa_private, algorithm="PS256")
out["rs_rs512"] = jwt.encode(rs_good, rsa_private, algorithm="RS512")
for k, t in out.items():
    print(k + "\t" + (t if isinstance(t, str) else t.decode()))
