// SigV4 checked against an independent signer: botocore (Debian python3-botocore) is given the
// same request, keys, region and a fixed time, and must produce the same Authorization header /
// presigned query. s3rver verifies no signatures, so this is what proves our signing right.
#include "object/s3/sigv4.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <unistd.h>
#include <sstream>
#include <string>
#include <vector>

namespace strata::object::s3 {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

// Reads cases (JSON list) on stdin; prints, per case, botocore's URL and Authorization header
// (header form) or presigned URL (query form). Time is frozen by replacing botocore.auth's
// datetime module. Keys are encoded by botocore itself (percent_encode(key, safe='/~') is what
// its S3 serializer does for {Key+}), and query parameters are handed over raw, so botocore
// does its own encoding too.
constexpr const char* kBotocoreSigner = R"PY(
import contextlib, datetime, json, sys, types
from unittest import mock
import botocore.auth, botocore.credentials, botocore.awsrequest
from botocore.utils import percent_encode

class Fixed(datetime.datetime):
    T = None
    @classmethod
    def utcnow(cls):
        return cls.T

out = []
for c in json.load(sys.stdin):
    Fixed.T = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=c['time'])
    creds = botocore.credentials.Credentials(c['access'], c['secret'], c['token'] or None)
    url = c['scheme'] + '://' + c['host'] + percent_encode(c['path'], safe='/~')
    req = botocore.awsrequest.AWSRequest(method=c['method'], url=url,
                                         headers=dict(c['headers']),
                                         data=c['body'].encode('utf-8'),
                                         params=[tuple(p) for p in c['query']])
    if c['unsigned']:
        req.context['client_config'] = types.SimpleNamespace(
            s3={'payload_signing_enabled': False})
    # Older botocore reads datetime.datetime.utcnow(), newer get_current_datetime().
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(botocore.auth, 'datetime',
                                              types.SimpleNamespace(datetime=Fixed)))
        if hasattr(botocore.auth, 'get_current_datetime'):
            stack.enter_context(mock.patch.object(botocore.auth, 'get_current_datetime',
                                                  lambda *a, **k: Fixed.T))
        if c['presign']:
            botocore.auth.S3SigV4QueryAuth(creds, 's3', c['region'],
                                           expires=c['expires']).add_auth(req)
            out.append({'url': req.url, 'path': url})
        else:
            botocore.auth.S3SigV4Auth(creds, 's3', c['region']).add_auth(req)
            out.append({'auth': req.headers['Authorization'],
                        'sha': req.headers['X-Amz-Content-SHA256'],
                        'token': req.headers.get('X-Amz-Security-Token', ''),
                        'path': url})
print(json.dumps(out))
)PY";

struct Case {
  std::string scheme = "http";
  SigningRequest req;
  std::string body;
  Credentials creds;
  std::string region = "us-east-1";
  int64_t time = 1700000000;
  bool unsigned_payload = false;
  bool presign = false;
  int64_t expires = 3600;
};

bool HaveBotocore() { return std::system("python3 -c 'import botocore' >/dev/null 2>&1") == 0; }

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/strata_sigv4_" + std::to_string(getpid()) +
         "_" + name;
}

// Runs botocore over all cases at once (one python start-up).
nlohmann::json RunBotocore(const std::vector<Case>& cases) {
  nlohmann::json in = nlohmann::json::array();
  for (const Case& c : cases) {
    nlohmann::json headers = nlohmann::json::array();
    for (const auto& [n, v] : c.req.headers) headers.push_back({n, v});
    nlohmann::json query = nlohmann::json::array();
    for (const auto& [n, v] : c.req.query) query.push_back({n, v});
    in.push_back({{"scheme", c.scheme},
                  {"host", c.req.host},
                  {"method", c.req.method},
                  {"path", c.req.path},
                  {"headers", headers},
                  {"query", query},
                  {"body", c.body},
                  {"access", c.creds.access_key},
                  {"secret", c.creds.secret_key},
                  {"token", c.creds.session_token},
                  {"region", c.region},
                  {"time", c.time},
                  {"unsigned", c.unsigned_payload},
                  {"presign", c.presign},
                  {"expires", c.expires}});
  }
  const std::string script = TempPath("signer.py");
  const std::string input = TempPath("in.json");
  const std::string output = TempPath("out.json");
  std::ofstream(script) << kBotocoreSigner;
  std::ofstream(input) << in.dump();
  std::string cmd = "python3 " + script + " < " + input + " > " + output;
  int rc = std::system(cmd.c_str());
  std::ifstream f(output);
  std::stringstream ss;
  ss << f.rdbuf();
  std::remove(script.c_str());
  std::remove(input.c_str());
  std::remove(output.c_str());
  EXPECT_EQ(rc, 0) << "botocore signer failed: " << cmd;
  if (rc != 0) return nlohmann::json::array();
  return nlohmann::json::parse(ss.str());
}

std::string HeaderValue(const Pairs& headers, const std::string& name) {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return "";
}

// "a=1&b=2" -> sorted list of the '&'-separated parts.
std::vector<std::string> SplitQuery(const std::string& q) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= q.size()) {
    size_t amp = q.find('&', start);
    if (amp == std::string::npos) amp = q.size();
    parts.push_back(q.substr(start, amp - start));
    start = amp + 1;
  }
  std::sort(parts.begin(), parts.end());
  return parts;
}

Case Base() {
  Case c;
  c.req.method = "GET";
  c.req.host = "127.0.0.1:9000";
  c.req.path = "/bucket/key";
  c.creds = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  return c;
}

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  {  // 0: plain GET of a key, empty payload.
    cases.push_back(Base());
  }
  {  // 1: PUT of a key needing escaping, a body, user metadata with spaces to trim.
    Case c = Base();
    c.req.method = "PUT";
    c.req.path = "/bucket/dir one/a b+c=d~e*f(g)!h'i,j;k:l@m$n&o";
    c.body = "hello, world";
    c.req.headers = {{"Content-Type", "application/octet-stream"},
                     {"x-amz-meta-owner", "  Ann   Smith  "}};
    cases.push_back(c);
  }
  {  // 2: unicode key.
    Case c = Base();
    c.req.method = "HEAD";
    c.req.path = "/bucket/ünïcødé/日本語/emoji-\xF0\x9F\x98\x80.txt";
    cases.push_back(c);
  }
  {  // 3: ListObjectsV2 with parameters needing escaping.
    Case c = Base();
    c.req.path = "/bucket";
    c.req.query = {{"list-type", "2"},
                   {"prefix", "a b/+=&?é"},
                   {"delimiter", "/"},
                   {"continuation-token", "1/Zx+y==~*"},
                   {"start-after", "k~ey *1"},
                   {"max-keys", "1000"}};
    cases.push_back(c);
  }
  {  // 4: session token, virtual-hosted https, multipart part upload.
    Case c = Base();
    c.scheme = "https";
    c.req.method = "PUT";
    c.req.host = "my-bucket.s3.eu-west-1.amazonaws.com";
    c.req.path = "/big object";
    c.req.query = {{"partNumber", "7"}, {"uploadId", "VXBsb2FkIElE+/="}};
    c.body = std::string(1000, 'x');
    c.region = "eu-west-1";
    c.creds.session_token = "FwoGZXIvYXdzE+/token==";
    cases.push_back(c);
  }
  {  // 5: UNSIGNED-PAYLOAD over https.
    Case c = Base();
    c.scheme = "https";
    c.req.method = "PUT";
    c.req.host = "s3.us-west-2.amazonaws.com";
    c.req.path = "/bucket/unsigned";
    c.body = "payload that is not hashed";
    c.req.headers = {{"Content-MD5", "XUFAKrxLKna5cZ2REBfFkg=="}};
    c.unsigned_payload = true;
    c.region = "us-west-2";
    cases.push_back(c);
  }
  {  // 6: a query key without a value (?uploads) and a POST.
    Case c = Base();
    c.req.method = "POST";
    c.req.path = "/bucket/multi part";
    c.req.query = {{"uploads", ""}};
    cases.push_back(c);
  }
  {  // 7: presigned GET, no token.
    Case c = Base();
    c.presign = true;
    c.expires = 900;
    c.req.path = "/bucket/shared file+1=2~.bin";
    cases.push_back(c);
  }
  {  // 8: presigned GET with a token, query parameters and unicode, another region.
    Case c = Base();
    c.presign = true;
    c.expires = 604800;
    c.region = "auto";
    c.req.host = "acct.r2.cloudflarestorage.com";
    c.scheme = "https";
    c.req.path = "/bucket/報告 2024.pdf";
    c.req.query = {{"response-content-disposition", "attachment; filename=\"a b.pdf\""},
                   {"versionId", "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"}};
    c.creds.session_token = "token/with+special=chars";
    cases.push_back(c);
  }
  {  // 9: presigned PUT.
    Case c = Base();
    c.presign = true;
    c.req.method = "PUT";
    c.req.path = "/bucket/upload here";
    cases.push_back(c);
  }
  for (Case& c : cases) {
    c.req.payload_hash = c.unsigned_payload ? std::string(kUnsignedPayload) : Sha256Hex(c.body);
  }
  return cases;
}

TEST(SigV4Test, MatchesBotocore) {
  if (!HaveBotocore()) GTEST_SKIP() << "python3 botocore not importable (apt python3-botocore)";
  std::vector<Case> cases = AllCases();
  nlohmann::json got = RunBotocore(cases);
  ASSERT_EQ(got.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i) + " path " + cases[i].req.path);
    const Case& c = cases[i];
    const std::string url_prefix = c.scheme + "://" + c.req.host;
    // Both encode the path the same way.
    EXPECT_EQ(got[i]["path"].get<std::string>(), url_prefix + EncodePath(c.req.path));
    if (c.presign) {
      std::string q = Presign(c.req, c.creds, c.region, c.time, c.expires);
      std::string theirs = got[i]["url"].get<std::string>();
      size_t qpos = theirs.find('?');
      ASSERT_NE(qpos, std::string::npos);
      EXPECT_EQ(theirs.substr(0, qpos), url_prefix + EncodePath(c.req.path));
      // Same parameters, same signature (botocore orders them differently).
      EXPECT_EQ(SplitQuery(theirs.substr(qpos + 1)), SplitQuery(q));
      EXPECT_NE(q.find("X-Amz-Expires=" + std::to_string(c.expires)), std::string::npos);
    } else {
      SigningDetails d;
      Pairs added = SignRequest(c.req, c.creds, c.region, c.time, &d);
      EXPECT_EQ(HeaderValue(added, "authorization"), got[i]["auth"].get<std::string>())
          << "canonical request:\n"
          << d.canonical_request;
      EXPECT_EQ(HeaderValue(added, "x-amz-content-sha256"), got[i]["sha"].get<std::string>());
      EXPECT_EQ(HeaderValue(added, "x-amz-security-token"), got[i]["token"].get<std::string>());
      EXPECT_EQ(HeaderValue(added, "x-amz-date"), AmzDate(c.time));
    }
  }
}

// The published example of the S3 documentation ("GET Object", examplebucket, 2013-05-24),
// a second independent reference that needs no Python.
TEST(SigV4Test, AwsDocumentationExample) {
  SigningRequest req;
  req.method = "GET";
  req.host = "examplebucket.s3.amazonaws.com";
  req.path = "/test.txt";
  req.headers = {{"Range", "bytes=0-9"}};
  req.payload_hash = std::string(kEmptySha256);
  Credentials creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  Pairs added = SignRequest(req, creds, "us-east-1", 1369353600, nullptr);
  EXPECT_EQ(HeaderValue(added, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, PresignDocumentationExample) {
  SigningRequest req;
  req.method = "GET";
  req.host = "examplebucket.s3.amazonaws.com";
  req.path = "/test.txt";
  Credentials creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  std::string q = Presign(req, creds, "us-east-1", 1369353600, 86400);
  EXPECT_NE(q.find("X-Amz-Signature="
                   "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"),
            std::string::npos)
      << q;
}

TEST(SigV4Test, EncodingRules) {
  EXPECT_EQ(UriEncode("a b+c=d~e*f/g", true), "a%20b%2Bc%3Dd~e%2Af/g");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriEncode("é", false), "%C3%A9");
  EXPECT_EQ(CanonicalQuery({{"prefix", "x y"}, {"list-type", "2"}, {"uploads", ""}}),
            "list-type=2&prefix=x%20y&uploads=");
  EXPECT_EQ(AmzDate(1369353600), "20130524T000000Z");
  EXPECT_EQ(Sha256Hex(""), kEmptySha256);
}

TEST(Sha256Test, PiecesHashAsTheirConcatenation) {
  // A block's payload and trailer are hashed in place: the x-amz-content-sha256 of the body
  // the server receives, joined.
  std::string payload(4u << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 7919) >> 5);
  const std::string trailer = "trailer!";
  EXPECT_EQ(Sha256Hex(std::vector<std::string_view>{payload, "", trailer}),
            Sha256Hex(payload + trailer));
  EXPECT_EQ(Sha256Hex(std::vector<std::string_view>{"hello, ", "world"}),
            Sha256Hex("hello, world"));
  EXPECT_EQ(Sha256Hex(std::vector<std::string_view>{}), kEmptySha256);
  EXPECT_EQ(Sha256Hex(std::vector<std::string_view>{"", ""}), kEmptySha256);
}

}  // namespace
}  // namespace strata::object::s3
