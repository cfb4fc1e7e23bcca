#include "auth/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "auth/base64url.hpp"
#include "core/error.hpp"
#include "core/text.hpp"

namespace tb::auth {

struct JwtVerifier::Key {
  std::shared_ptr<EVP_PKEY> pkey;  // RS256/ES256
};

namespace {

namespace json = boost::json;
using config::JwtAlgorithm;

[[noreturn]] void unauthorized(std::string reason, std::string detail = {}) {
  throw Error(ErrorCode::kUnauthorized, std::move(reason), std::move(detail));
}

std::string_view algorithm_name(JwtAlgorithm a) {
  switch (a) {
    case JwtAlgorithm::kHS256:
      return "HS256";
    case JwtAlgorithm::kRS256:
      return "RS256";
    case JwtAlgorithm::kES256:
      return "ES256";
  }
  return "?";
}

// A Boost.JSON SAX handler that only watches for duplicate keys: Boost.JSON
// 1.81 has no option to refuse them and keeps the last one.
class DuplicateKeyCheck {
 public:
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);

  bool duplicate = false;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    keys_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    keys_.pop_back();
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t, json::error_code&) { return true; }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key_.append(s.data(), s.size());
    bool inserted = keys_.back().insert(std::move(key_)).second;
    key_.clear();
    if (!inserted) {
      duplicate = true;
      ec = json::error::syntax;  // stop parsing
      return false;
    }
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return true; }
  bool on_double(double, json::string_view, json::error_code&) { return true; }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  std::vector<std::set<std::string>> keys_;
  std::string key_;
};

// Decodes one base64url segment and parses it as a JSON object, refusing duplicates.
json::object decode_json_segment(std::string_view segment, std::string_view what) {
  auto bytes = base64url_decode(segment);
  if (!bytes) unauthorized("token malformed", std::string(what) + " is not base64url");
  json::parse_options opts;
  opts.max_depth = 16;
  json::basic_parser<DuplicateKeyCheck> check(opts);
  json::error_code ec;
  std::size_t used = check.write_some(false, bytes->data(), bytes->size(), ec);
  if (check.handler().duplicate) {
    unauthorized("token malformed", std::string(what) + " has a duplicate key");
  }
  if (ec || used != bytes->size() || !check.done()) {
    unauthorized("token malformed", std::string(what) + " is not JSON: " + ec.message());
  }
  json::value v = json::parse(*bytes, ec, {}, opts);
  if (ec || !v.is_object())
    unauthorized("token malformed", std::string(what) + " is not a JSON object");
  return std::move(v.as_object());
}

std::optional<double> numeric(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  if (v.is_double()) return v.as_double();
  return std::nullopt;
}

double seconds_since_epoch(tb::SystemTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::shared_ptr<EVP_PKEY> load_public_key(const std::string& pem, JwtAlgorithm alg) {
  if (pem.empty())
    throw_internal(std::string("JWT ") + std::string(algorithm_name(alg)) + " needs a public key");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) throw_internal("BIO_new_mem_buf failed");
  std::shared_ptr<EVP_PKEY> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr),
                                &EVP_PKEY_free);
  if (!key)
    throw_internal("the JWT public key is not a PEM public key (-----BEGIN PUBLIC KEY-----)");
  if (alg == JwtAlgorithm::kRS256) {
    if (!EVP_PKEY_is_a(key.get(), "RSA")) throw_internal("RS256 needs an RSA public key");
    if (EVP_PKEY_get_bits(key.get()) < 2048)
      throw_internal("RS256 needs an RSA key of at least 2048 bits");
  } else {
    if (!EVP_PKEY_is_a(key.get(), "EC")) throw_internal("ES256 needs an EC public key");
    std::array<char, 64> group{};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group.data(),
                                       group.size(), &len) != 1 ||
        std::string_view(group.data(), len) != "prime256v1") {
      throw_internal("ES256 needs an EC key on the P-256 curve");
    }
  }
  return key;
}

// ES256 signatures are R||S (32 bytes each); OpenSSL verifies DER ECDSA-Sig-Value.
std::optional<std::string> es256_raw_to_der(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), &ECDSA_SIG_free);
  BIGNUM* r = BN_bin2bn(bytes_of(raw), 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes_of(raw) + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) return std::nullopt;
  return der;
}

bool verify_with_key(EVP_PKEY* key, std::string_view signing_input, std::string_view signature) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx) throw_internal("EVP_MD_CTX_new failed");
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    throw_internal("EVP_DigestVerifyInit failed");
  }
  return EVP_DigestVerify(ctx.get(), bytes_of(signature), signature.size(), bytes_of(signing_input),
                          signing_input.size()) == 1;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_internal("cannot read JWT_PUBLIC_KEY_FILE '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void check_header(const json::object& header, JwtAlgorithm expected) {
  const json::value* alg = header.if_contains("alg");
  if (alg == nullptr || !alg->is_string()) unauthorized("token malformed", "header has no alg");
  if (alg->as_string() != algorithm_name(expected)) {
    unauthorized("token algorithm not accepted", "header alg '" + std::string(alg->as_string()) +
                                                     "', configured " +
                                                     std::string(algorithm_name(expected)));
  }
  if (const json::value* typ = header.if_contains("typ")) {
    if (!typ->is_string() || !iequals(typ->as_string(), "JWT"))
      unauthorized("token type not accepted");
  }
  if (header.contains("crit")) unauthorized("token uses unsupported extensions", "header has crit");
}

std::vector<std::string> string_list(const json::value& v, std::string_view claim) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.emplace_back(v.as_string());
  } else if (v.is_array()) {
    for (const auto& item : v.as_array()) {
      if (!item.is_string())
        unauthorized("token claims malformed", std::string(claim) + " has a non-string");
      out.emplace_back(item.as_string());
    }
  } else {
    unauthorized("token claims malformed",
                 std::string(claim) + " is neither a string nor an array");
  }
  return out;
}

}  // namespace

JwtVerifier::JwtVerifier(VerifierOptions options) : options_(std::move(options)) {
  auto key = std::make_shared<Key>();
  if (options_.algorithm == JwtAlgorithm::kHS256) {
    if (options_.secret.size() < 32) throw_internal("JWT HS256 secret must be at least 32 bytes");
  } else {
    key->pkey = load_public_key(options_.public_key_pem, options_.algorithm);
  }
  if (options_.leeway.count() < 0) throw_internal("JWT leeway must not be negative");
  key_ = std::move(key);
}

JwtVerifier JwtVerifier::from_config(const tb::config::Config& config) {
  VerifierOptions o;
  o.algorithm = config.jwt_algorithm;
  o.secret = config.jwt_secret;
  if (config.jwt_algorithm != JwtAlgorithm::kHS256)
    o.public_key_pem = read_file(config.jwt_public_key_file);
  o.issuer = config.jwt_issuer;
  o.audience = config.jwt_audience;
  o.leeway = config.jwt_leeway;
  return JwtVerifier(std::move(o));
}

Principal JwtVerifier::verify(std::string_view token, tb::SystemTime now) const {
  if (token.empty()) unauthorized("token missing");
  if (token.size() > kMaxTokenSize) unauthorized("token too large");
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    unauthorized("token malformed", "not three dot-separated parts");
  }
  std::string_view header_b64 = token.substr(0, dot1);
  std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view signature_b64 = token.substr(dot2 + 1);
  if (header_b64.empty() || payload_b64.empty() || signature_b64.empty()) {
    unauthorized("token malformed", "empty part");
  }

  check_header(decode_json_segment(header_b64, "header"), options_.algorithm);

  auto signature = base64url_decode(signature_b64);
  if (!signature) unauthorized("token malformed", "signature is not base64url");
  std::string_view signing_input = token.substr(0, dot2);
  bool valid = false;
  switch (options_.algorithm) {
    case JwtAlgorithm::kHS256:
      valid = constant_time_equal(hmac_sha256(options_.secret, signing_input), *signature);
      break;
    case JwtAlgorithm::kRS256:
      valid = verify_with_key(key_->pkey.get(), signing_input, *signature);
      break;
    case JwtAlgorithm::kES256:
      if (auto der = es256_raw_to_der(*signature))
        valid = verify_with_key(key_->pkey.get(), signing_input, *der);
      break;
  }
  if (!valid) unauthorized("token signature invalid");

  // Only now, with the signature checked, read the claims.
  json::object claims = decode_json_segment(payload_b64, "payload");
  double t = seconds_since_epoch(now);
  double leeway = static_cast<double>(options_.leeway.count());

  const json::value* exp = claims.if_contains("exp");
  if (exp == nullptr) unauthorized("token has no expiry");
  auto exp_s = numeric(*exp);
  if (!exp_s) unauthorized("token claims malformed", "exp is not a number");
  if (t >= *exp_s + leeway) unauthorized("token expired");
  if (const json::value* nbf = claims.if_contains("nbf")) {
    auto nbf_s = numeric(*nbf);
    if (!nbf_s) unauthorized("token claims malformed", "nbf is not a number");
    if (t + leeway < *nbf_s) unauthorized("token not yet valid");
  }
  if (const json::value* iat = claims.if_contains("iat")) {
    auto iat_s = numeric(*iat);
    if (!iat_s) unauthorized("token claims malformed", "iat is not a number");
    if (t + leeway < *iat_s) unauthorized("token issued in the future");
  }
  if (!options_.issuer.empty()) {
    const json::value* iss = claims.if_contains("iss");
    if (iss == nullptr || !iss->is_string() || iss->as_string() != options_.issuer) {
      unauthorized("token issuer not accepted");
    }
  }
  if (!options_.audience.empty()) {
    const json::value* aud = claims.if_contains("aud");
    if (aud == nullptr) unauthorized("token audience not accepted", "no aud claim");
    auto audiences = string_list(*aud, "aud");
    if (std::find(audiences.begin(), audiences.end(), options_.audience) == audiences.end()) {
      unauthorized("token audience not accepted");
    }
  }

  Principal p;
  const json::value* sub = claims.if_contains("sub");
  if (sub == nullptr || !sub->is_string() || sub->as_string().empty())
    unauthorized("token has no subject");
  p.subject = std::string(sub->as_string());
  if (const json::value* role = claims.if_contains("role")) {
    if (!role->is_string()) unauthorized("token claims malformed", "role is not a string");
    p.role = std::string(role->as_string());
    p.admin = p.role == "admin";
  }
  if (const json::value* project = claims.if_contains("project_id")) {
    if (!project->is_string()) unauthorized("token claims malformed", "project_id is not a string");
    p.projects.emplace_back(project->as_string());
  }
  if (const json::value* projects = claims.if_contains("projects")) {
    if (!projects->is_array()) unauthorized("token claims malformed", "projects is not an array");
    for (auto& id : string_list(*projects, "projects")) {
      if (std::find(p.projects.begin(), p.projects.end(), id) == p.projects.end())
        p.projects.push_back(std::move(id));
    }
  }
  // An empty project id would never match a real project; drop it rather than carry it around.
  std::erase(p.projects, std::string());
  return p;
}

std::string_view bearer_token(std::string_view header) {
  constexpr std::string_view kScheme = "bearer";
  if (header.empty()) unauthorized("missing bearer token", "no Authorization header");
  if (header.size() <= kScheme.size() + 1 || !iequals(header.substr(0, kScheme.size()), kScheme) ||
      header[kScheme.size()] != ' ') {
    unauthorized("missing bearer token", "Authorization is not a Bearer credential");
  }
  const std::string_view token = trim(header.substr(kScheme.size() + 1));
  if (token.empty() || token.find_first_of(" \t\r\n") != std::string_view::npos) {
    unauthorized("missing bearer token", "malformed Bearer credential");
  }
  return token;
}

std::string mint_hs256(std::string_view secret, const boost::json::object& claims) {
  if (secret.empty()) throw_internal("mint_hs256: empty secret");
  std::string input = base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." +
                      base64url_encode(json::serialize(claims));
  return input + "." + base64url_encode(hmac_sha256(secret, input));
}

}  // namespace tb::auth
