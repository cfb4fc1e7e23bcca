// JwtVerifier against tokens minted by an independent implementation (PyJWT from
// Debian's python3-jwt, run by /usr/bin/python3) and against forged tokens.
#include "auth/jwt.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include "auth/base64url.hpp"
#include "core/error.hpp"
#include "support/pg_cluster.hpp"

extern char** environ;

namespace tb::auth {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using config::JwtAlgorithm;
using std::chrono::seconds;

const std::string kSecret = "0123456789abcdef0123456789abcdef-test-secret";
const SystemTime kNow{seconds(1'900'000'000)};
std::int64_t now_s() {
  return 1'900'000'000;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Keys and the Python helper, made once for the whole binary.
struct Env {
  std::string dir = test::make_temp_dir("tb-auth-test");
  std::string rsa_pub, ec_pub;

  Env() {
    test::run_command("openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " +
                      dir + "/rsa.pem");
    test::run_command("openssl pkey -in " + dir + "/rsa.pem -pubout -out " + dir + "/rsa.pub");
    test::run_command(
        "openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + dir +
        "/ec.pem");
    test::run_command("openssl pkey -in " + dir + "/ec.pem -pubout -out " + dir + "/ec.pub");
    rsa_pub = read_file(dir + "/rsa.pub");
    ec_pub = read_file(dir + "/ec.pub");
    write_file(dir + "/secret", kSecret);
    // One Python process serves every request (one JSON line in, one line out):
    // starting Python and importing PyJWT per token would dominate the run time.
    write_file(dir + "/mint.py", R"PY(
import sys, json, jwt, hmac, hashlib, base64
def b64(data): return base64.urlsafe_b64encode(data).rstrip(b'=').decode()
for line in sys.stdin:
    r = json.loads(line)
    mode, a, b = r['mode'], r['a'], r['b']
    key = open(r['key'], 'rb').read()
    try:
        if mode == 'raw':
            # HS256 over exactly these header/payload texts (duplicates and all).
            head = b64(a.encode()) + '.' + b64(b.encode())
            out = head + '.' + b64(hmac.new(key, head.encode(), hashlib.sha256).digest())
        elif mode == 'sign':
            # HS256 over exactly this signing input (already encoded, possibly malformed).
            out = a + '.' + b64(hmac.new(key, a.encode(), hashlib.sha256).digest())
        elif mode == 'decode':
            out = json.dumps(jwt.decode(a, key, algorithms=['HS256'],
                                        options={'verify_exp': False, 'verify_iat': False}))
        else:
            out = jwt.encode(json.loads(a), key, algorithm=mode, headers=json.loads(b) or None)
    except Exception as e:
        out = 'ERROR ' + repr(e)  # repr() keeps it on one line
    print(out, flush=True)
)PY");
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    std::string python = "/usr/bin/python3", script = dir + "/mint.py";
    char* argv[] = {python.data(), script.data(), nullptr};
    if (posix_spawn(&pid, python.c_str(), &actions, nullptr, argv, environ) != 0) {
      throw std::runtime_error("cannot start /usr/bin/python3");
    }
    posix_spawn_file_actions_destroy(&actions);
    close(to_child[0]);
    close(from_child[1]);
    to_python = to_child[1];
    from_python = fdopen(from_child[0], "r");
  }
  ~Env() {
    close(to_python);
    fclose(from_python);
    int status = 0;
    waitpid(pid, &status, 0);
    fs::remove_all(dir);
  }

  std::string python(const std::string& mode, const std::string& keyfile, const std::string& a,
                     const std::string& b) {
    std::string request =
        json::serialize(json::object{{"mode", mode}, {"key", keyfile}, {"a", a}, {"b", b}}) + "\n";
    for (std::size_t off = 0; off < request.size();) {
      ssize_t n = write(to_python, request.data() + off, request.size() - off);
      if (n <= 0) throw std::runtime_error("the PyJWT helper died");
      off += static_cast<std::size_t>(n);
    }
    char* line = nullptr;
    std::size_t cap = 0;
    ssize_t n = getline(&line, &cap, from_python);
    std::string out = n > 0 ? std::string(line, static_cast<std::size_t>(n)) : std::string();
    free(line);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    if (out.empty() || out.rfind("ERROR ", 0) == 0)
      throw std::runtime_error("PyJWT helper: " + out);
    return out;
  }

  pid_t pid = -1;
  int to_python = -1;
  FILE* from_python = nullptr;
};

Env& env() {
  static Env e;
  return e;
}

// PyJWT-minted token. `alg` is HS256 (shared secret), RS256 or ES256 (the test's private keys).
std::string pyjwt(const std::string& alg, const json::object& claims,
                  const json::object& headers = {}) {
  std::string key = alg == "HS256" ? "secret" : alg == "RS256" ? "rsa.pem" : "ec.pem";
  return env().python(alg, env().dir + "/" + key, json::serialize(claims),
                      json::serialize(headers));
}

// HS256 over raw header/payload text, signed by Python with the key in `keyfile`.
std::string raw_hs256(const std::string& header, const std::string& payload,
                      const std::string& keyfile = "secret") {
  return env().python("raw", env().dir + "/" + keyfile, header, payload);
}

json::object claims(json::object extra = {}) {
  json::object c{
      {"sub", "alice"}, {"project_id", "p1"}, {"exp", now_s() + 600}, {"iat", now_s() - 5}};
  for (auto& kv : extra) c[kv.key()] = kv.value();
  return c;
}

JwtVerifier hs(std::string issuer = {}, std::string audience = {}) {
  return JwtVerifier(
      {JwtAlgorithm::kHS256, kSecret, {}, std::move(issuer), std::move(audience), seconds(30)});
}
JwtVerifier rs(std::string audience = {}) {
  return JwtVerifier(
      {JwtAlgorithm::kRS256, {}, env().rsa_pub, {}, std::move(audience), seconds(30)});
}
JwtVerifier es() {
  return JwtVerifier({JwtAlgorithm::kES256, {}, env().ec_pub, {}, {}, seconds(30)});
}

// The public reason of the 401, or "accepted".
std::string outcome(const JwtVerifier& v, std::string_view token, SystemTime now = kNow) {
  try {
    v.verify(token, now);
    return "accepted";
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kUnauthorized) return "wrong code: " + std::string(e.what());
    return e.message();
  }
}

std::string replace_part(const std::string& token, int index, const std::string& replacement) {
  auto d1 = token.find('.');
  auto d2 = token.find('.', d1 + 1);
  std::array<std::string, 3> parts{token.substr(0, d1), token.substr(d1 + 1, d2 - d1 - 1),
                                   token.substr(d2 + 1)};
  parts[static_cast<std::size_t>(index)] = replacement;
  return parts[0] + "." + parts[1] + "." + parts[2];
}

TEST(Jwt, ValidHs256FromPyJwtGivesThePrincipal) {
  auto p = hs().verify(pyjwt("HS256", claims({{"role", "owner"}})), kNow);
  EXPECT_EQ(p.subject, "alice");
  EXPECT_EQ(p.projects, std::vector<std::string>{"p1"});
  EXPECT_EQ(p.role, "owner");
  EXPECT_FALSE(p.admin);
  EXPECT_TRUE(p.can_access("p1"));
  EXPECT_FALSE(p.can_access("p2"));
  EXPECT_FALSE(p.can_access(""));
}

TEST(Jwt, ValidRs256WithProjectsArrayAndAudienceList) {
  json::object c =
      claims({{"projects", json::array{"p2", "p3", "p1"}}, {"aud", json::array{"other", "tb"}}});
  auto p = rs("tb").verify(pyjwt("RS256", c), kNow);
  EXPECT_EQ(p.projects, (std::vector<std::string>{"p1", "p2", "p3"}));
  EXPECT_TRUE(p.can_access("p3"));
  EXPECT_FALSE(p.can_access("p4"));
}

TEST(Jwt, ValidEs256AdminMayActOnEveryProject) {
  json::object c{{"sub", "ops"}, {"role", "admin"}, {"exp", now_s() + 60}};
  auto p = es().verify(pyjwt("ES256", c), kNow);
  EXPECT_TRUE(p.admin);
  EXPECT_TRUE(p.projects.empty());
  EXPECT_TRUE(p.can_access("any-project"));
}

TEST(Jwt, TokenWithoutProjectsIsValidButGrantsNothing) {
  auto p = hs().verify(pyjwt("HS256", {{"sub", "bob"}, {"exp", now_s() + 60}}), kNow);
  EXPECT_EQ(p.subject, "bob");
  EXPECT_FALSE(p.can_access("p1"));
}

TEST(Jwt, AlgNoneIsRefused) {
  std::string header = base64url_encode(R"({"alg":"none","typ":"JWT"})");
  std::string payload = base64url_encode(json::serialize(claims()));
  EXPECT_NE(outcome(hs(), header + "." + payload + "."), "accepted");
  EXPECT_EQ(outcome(hs(), header + "." + payload + ".c2ln"), "token algorithm not accepted");
  EXPECT_EQ(outcome(rs(), header + "." + payload + ".c2ln"), "token algorithm not accepted");
}

TEST(Jwt, HmacWithThePublicKeyAsSecretIsRefusedWhenRs256IsConfigured) {
  // The classic RS/HS confusion: a verifier that trusts the header would
  // check this HMAC with the (public) PEM as secret and accept it.
  std::string forged = raw_hs256(R"({"alg":"HS256","typ":"JWT"})",
                                 json::serialize(claims({{"role", "admin"}})), "rsa.pub");
  EXPECT_EQ(outcome(rs(), forged), "token algorithm not accepted");
}

TEST(Jwt, OtherConfiguredAlgorithmsAreRefused) {
  EXPECT_EQ(outcome(es(), pyjwt("RS256", claims())), "token algorithm not accepted");
  EXPECT_EQ(outcome(rs(), pyjwt("ES256", claims())), "token algorithm not accepted");
  EXPECT_EQ(outcome(hs(), pyjwt("RS256", claims())), "token algorithm not accepted");
}

TEST(Jwt, ExpiryIsRequiredNumericAndEnforcedWithLeeway) {
  EXPECT_EQ(outcome(hs(), pyjwt("HS256", claims({{"exp", now_s() - 60}}))), "token expired");
  EXPECT_EQ(outcome(hs(), pyjwt("HS256", claims({{"exp", now_s() - 10}}))),
            "accepted");  // within 30 s
  json::object no_exp = claims();
  no_exp.erase("exp");
  EXPECT_EQ(outcome(hs(), pyjwt("HS256", no_exp)), "token has no expiry");
  // PyJWT refuses to mint a non-numeric exp; sign the raw text ourselves.
  std::string text_exp =
      R"({"sub":"a","project_id":"p1","exp":")" + std::to_string(now_s() + 60) + R"("})";
  EXPECT_EQ(outcome(hs(), raw_hs256(R"({"alg":"HS256"})", text_exp)), "token claims malformed");
  // The same token is fine earlier on, and refused at its expiry (+ leeway) by a later clock.
  std::string t = pyjwt("HS256", claims({{"exp", now_s() + 100}}));
  EXPECT_EQ(outcome(hs(), t, kNow + seconds(129)), "accepted");
  EXPECT_EQ(outcome(hs(), t, kNow + seconds(130)), "token expired");
}

TEST(Jwt, NotBeforeAndIssuedAtInTheFutureAreRefused) {
  EXPECT_EQ(outcome(hs(), pyjwt("HS256", claims({{"nbf", now_s() + 120}}))), "token not yet valid");
  EXPECT_EQ(outcome(hs(), pyjwt("HS256", claims({{"nbf", now_s() + 20}}))), "accepted");
  EXPECT_EQ(outcome(hs(), pyjwt("HS256", claims({{"iat", now_s() + 3600}}))),
            "token issued in the future");
}

TEST(Jwt, IssuerAndAudienceAreCheckedWhenConfigured) {
  auto v = hs("https://platform", "tenant-backup");
  EXPECT_EQ(
      outcome(v, pyjwt("HS256", claims({{"iss", "https://platform"}, {"aud", "tenant-backup"}}))),
      "accepted");
  EXPECT_EQ(outcome(v, pyjwt("HS256", claims({{"iss", "https://evil"}, {"aud", "tenant-backup"}}))),
            "token issuer not accepted");
  EXPECT_EQ(outcome(v, pyjwt("HS256", claims({{"iss", "https://platform"}, {"aud", "billing"}}))),
            "token audience not accepted");
  EXPECT_EQ(outcome(v, pyjwt("HS256", claims({{"iss", "https://platform"}}))),
            "token audience not accepted");
  EXPECT_EQ(outcome(v, pyjwt("HS256", claims({{"aud", "tenant-backup"}}))),
            "token issuer not accepted");
}

TEST(Jwt, MalformedBase64AndStructureAreRefused) {
  std::string good = pyjwt("HS256", claims());
  ASSERT_EQ(outcome(hs(), good), "accepted");
  auto d1 = good.find('.');
  auto d2 = good.find('.', d1 + 1);
  std::string payload = good.substr(d1 + 1, d2 - d1 - 1);
  // Padding, standard-alphabet characters and junk are not base64url, even under a valid signature.
  std::string header = good.substr(0, d1);
  auto signed_input = [](const std::string& input) {
    return env().python("sign", env().dir + "/secret", input, "");
  };
  EXPECT_EQ(outcome(hs(), signed_input(header + "." + payload)), "accepted");
  EXPECT_EQ(outcome(hs(), signed_input(header + "." + payload + "==")), "token malformed");
  EXPECT_EQ(outcome(hs(), signed_input(header + "." + payload + "!")), "token malformed");
  EXPECT_EQ(outcome(hs(), signed_input(header + "=." + payload)), "token malformed");
  // Tampering with the encoding alone also breaks the signature.
  EXPECT_NE(outcome(hs(), replace_part(good, 1, payload + "==")), "accepted");
  EXPECT_EQ(outcome(hs(), replace_part(good, 0, good.substr(0, d1) + "=")), "token malformed");
  EXPECT_EQ(outcome(hs(), replace_part(good, 2, good.substr(d2 + 1) + "+")), "token malformed");
  EXPECT_EQ(outcome(hs(), good.substr(0, d2)), "token malformed");
  EXPECT_EQ(outcome(hs(), good + ".x"), "token malformed");
  EXPECT_EQ(outcome(hs(), ""), "token missing");
  EXPECT_EQ(outcome(hs(), "a.b.c"), "token malformed");
  EXPECT_EQ(outcome(hs(), raw_hs256("[1,2]", json::serialize(claims()))), "token malformed");
  EXPECT_EQ(outcome(hs(), raw_hs256(R"({"alg":"HS256"})", "not json")), "token malformed");
  EXPECT_EQ(outcome(hs(), raw_hs256(R"({"alg":"HS256"})", "{} trailing")), "token malformed");
}

TEST(Jwt, OversizedTokensAreRefusedBeforeAnyWork) {
  std::string big = pyjwt("HS256", claims({{"pad", std::string(kMaxTokenSize, 'x')}}));
  EXPECT_EQ(outcome(hs(), big), "token too large");
  std::string fits = pyjwt("HS256", claims({{"pad", std::string(5000, 'x')}}));
  EXPECT_EQ(outcome(hs(), fits), "accepted");
}

TEST(Jwt, DuplicateKeysAreRefusedEvenWhenSigned) {
  // Boost.JSON would keep the last value; another parser might keep the first.
  std::string exp = std::to_string(now_s() + 60);
  EXPECT_EQ(outcome(hs(), raw_hs256(R"({"alg":"HS256"})",
                                    R"({"sub":"a","project_id":"p1","exp":)" + exp + "}")),
            "accepted");
  EXPECT_EQ(outcome(hs(), raw_hs256(R"({"alg":"HS256"})",
                                    R"({"sub":"a","project_id":"p1","project_id":"p2","exp":)" +
                                        exp + "}")),
            "token malformed");
  EXPECT_EQ(outcome(hs(), raw_hs256(R"({"alg":"HS256"})",
                                    R"({"sub":"a","x":{"k":1,"k":2},"exp":)" + exp + "}")),
            "token malformed");
  EXPECT_EQ(outcome(hs(), raw_hs256(R"({"alg":"none","alg":"HS256"})",
                                    R"({"sub":"a","exp":)" + exp + "}")),
            "token malformed");
  // The same key in sibling objects is not a duplicate.
  EXPECT_EQ(outcome(hs(), raw_hs256(R"({"alg":"HS256"})",
                                    R"({"sub":"a","x":{"k":1},"y":{"k":2},"exp":)" + exp + "}")),
            "accepted");
}

TEST(Jwt, TamperedPayloadOrWrongKeyFailsTheSignature) {
  for (const std::string alg : {"HS256", "RS256", "ES256"}) {
    SCOPED_TRACE(alg);
    const JwtVerifier v = alg == "HS256" ? hs() : alg == "RS256" ? rs() : es();
    std::string good = pyjwt(alg, claims());
    ASSERT_EQ(outcome(v, good), "accepted");
    std::string other = base64url_encode(json::serialize(claims({{"project_id", "p2"}})));
    EXPECT_EQ(outcome(v, replace_part(good, 1, other)), "token signature invalid");
    std::string sig = *base64url_decode(good.substr(good.rfind('.') + 1));
    sig[sig.size() / 2] = static_cast<char>(sig[sig.size() / 2] ^ 1);
    EXPECT_EQ(outcome(v, replace_part(good, 2, base64url_encode(sig))), "token signature invalid");
  }
  auto other_secret = JwtVerifier({JwtAlgorithm::kHS256, kSecret + "x", {}, {}, {}, seconds(30)});
  EXPECT_EQ(outcome(other_secret, pyjwt("HS256", claims())), "token signature invalid");
}

TEST(Jwt, HeaderTypAndCritAreChecked) {
  EXPECT_EQ(outcome(hs(), pyjwt("HS256", claims(), {{"typ", "JWT"}, {"kid", "k1"}})), "accepted");
  EXPECT_EQ(outcome(hs(), pyjwt("HS256", claims(), {{"typ", "at+jwt"}})),
            "token type not accepted");
  EXPECT_EQ(outcome(hs(), pyjwt("HS256", claims(), {{"crit", json::array{"exp"}}})),
            "token uses unsupported extensions");
}

TEST(Jwt, ClaimsOfTheWrongTypeAreRefused) {
  EXPECT_EQ(outcome(hs(), pyjwt("HS256", claims({{"projects", "p1"}}))), "token claims malformed");
  EXPECT_EQ(outcome(hs(), pyjwt("HS256", claims({{"projects", json::array{"p1", 2}}}))),
            "token claims malformed");
  EXPECT_EQ(outcome(hs(), pyjwt("HS256", claims({{"role", true}}))), "token claims malformed");
  json::object no_sub = claims();
  no_sub.erase("sub");
  EXPECT_EQ(outcome(hs(), pyjwt("HS256", no_sub)), "token has no subject");
}

TEST(Jwt, MintedTokensVerifyHereAndInPyJwt) {
  std::string t = mint_hs256(kSecret, claims({{"projects", json::array{"p9"}}}));
  auto p = hs().verify(t, kNow);
  EXPECT_EQ(p.projects, (std::vector<std::string>{"p1", "p9"}));
  auto decoded = json::parse(env().python("decode", env().dir + "/secret", t, "")).as_object();
  EXPECT_EQ(decoded.at("sub").as_string(), "alice");
}

TEST(Jwt, BadKeysAreRefusedAtConstruction) {
  auto code_of = [](VerifierOptions o) {
    try {
      JwtVerifier v(std::move(o));
      return std::string("constructed");
    } catch (const Error& e) {
      return std::string(code_name(e.code()));
    }
  };
  EXPECT_EQ(code_of({JwtAlgorithm::kHS256, "short", {}, {}, {}, seconds(30)}), "INTERNAL");
  EXPECT_EQ(code_of({JwtAlgorithm::kRS256, {}, "not a pem", {}, {}, seconds(30)}), "INTERNAL");
  EXPECT_EQ(code_of({JwtAlgorithm::kRS256, {}, env().ec_pub, {}, {}, seconds(30)}), "INTERNAL");
  EXPECT_EQ(code_of({JwtAlgorithm::kES256, {}, env().rsa_pub, {}, {}, seconds(30)}), "INTERNAL");
  test::run_command("openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out " +
                    env().dir + "/p384.pem && openssl pkey -in " + env().dir +
                    "/p384.pem -pubout -out " + env().dir + "/p384.pub");
  EXPECT_EQ(
      code_of({JwtAlgorithm::kES256, {}, read_file(env().dir + "/p384.pub"), {}, {}, seconds(30)}),
      "INTERNAL");
  test::run_command("openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out " +
                    env().dir + "/rsa1024.pem && openssl pkey -in " + env().dir +
                    "/rsa1024.pem -pubout -out " + env().dir + "/rsa1024.pub");
  EXPECT_EQ(
      code_of(
          {JwtAlgorithm::kRS256, {}, read_file(env().dir + "/rsa1024.pub"), {}, {}, seconds(30)}),
      "INTERNAL");
}

TEST(Jwt, FromConfigReadsThePublicKeyFile) {
  std::map<std::string, std::string> vars{{"JWT_PUBLIC_KEY_FILE", env().dir + "/ec.pub"},
                                          {"JWT_ALGORITHM", "ES256"},
                                          {"JWT_AUDIENCE", "tb"},
                                          {"DOWNLOAD_LINK_SECRET", std::string(32, 'd')}};
  auto cfg = config::load([&](std::string_view n) -> std::optional<std::string> {
    auto it = vars.find(std::string(n));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
  auto v = JwtVerifier::from_config(cfg);
  EXPECT_EQ(outcome(v, pyjwt("ES256", claims({{"aud", "tb"}}))), "accepted");
  EXPECT_EQ(outcome(v, pyjwt("ES256", claims())), "token audience not accepted");
}

}  // namespace
}  // namespace tb::auth
