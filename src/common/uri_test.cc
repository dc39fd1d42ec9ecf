#include "common/uri.h"

#include <gtest/gtest.h>

namespace strata {
namespace {

Uri MustParse(std::string_view text) {
  auto r = ParseUri(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : Uri{};
}

// The error for a URL that must be refused; checks the code and that the message says `what`.
std::string ErrorOf(std::string_view text) {
  auto r = ParseUri(text);
  EXPECT_FALSE(r.ok()) << text << " was accepted";
  if (r.ok()) return "";
  EXPECT_EQ(r.code(), Code::kInvalidArgument);
  return std::string(r.status().message());
}

TEST(UriTest, SqliteAbsolutePath) {
  Uri u = MustParse("sqlite3:///abs/path/meta.db");
  EXPECT_EQ(u.scheme, "sqlite3");
  EXPECT_EQ(u.host, "");
  EXPECT_TRUE(u.hosts.empty());
  EXPECT_EQ(u.path, "/abs/path/meta.db");
  EXPECT_EQ(u.port, 0);
}

TEST(UriTest, RedisPasswordOnly) {
  Uri u = MustParse("redis://:pw@127.0.0.1:6379/2");
  EXPECT_EQ(u.scheme, "redis");
  EXPECT_EQ(u.user, "");
  EXPECT_TRUE(u.has_password);
  EXPECT_EQ(u.password, "pw");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 6379);
  EXPECT_EQ(u.path, "/2");
  EXPECT_EQ(u.Masked(), "redis://:****@127.0.0.1:6379/2");
}

TEST(UriTest, RedisUserAndPasswordNoPort) {
  Uri u = MustParse("redis://user:pw@h/0");
  EXPECT_EQ(u.user, "user");
  EXPECT_EQ(u.password, "pw");
  EXPECT_EQ(u.host, "h");
  EXPECT_EQ(u.port, 0);
  EXPECT_EQ(u.path, "/0");
  EXPECT_EQ(u.Masked(), "redis://user:****@h/0");
  EXPECT_EQ(u.ToString(), "redis://user:pw@h/0");
}

TEST(UriTest, EtcdHostList) {
  Uri u = MustParse("etcd://h1:2379,h2:2379,h3:2380/prefix");
  EXPECT_EQ(u.scheme, "etcd");
  EXPECT_EQ(u.host, "h1:2379,h2:2379,h3:2380");
  EXPECT_EQ(u.port, 0);
  ASSERT_EQ(u.hosts.size(), 3u);
  EXPECT_EQ(u.hosts[0], (HostPort{"h1", 2379}));
  EXPECT_EQ(u.hosts[1], (HostPort{"h2", 2379}));
  EXPECT_EQ(u.hosts[2], (HostPort{"h3", 2380}));
  EXPECT_EQ(u.path, "/prefix");
  EXPECT_EQ(u.ToString(), "etcd://h1:2379,h2:2379,h3:2380/prefix");
}

TEST(UriTest, FileDirectory) {
  Uri u = MustParse("file:///var/lib/strata/store");
  EXPECT_EQ(u.scheme, "file");
  EXPECT_EQ(u.host, "");
  EXPECT_EQ(u.path, "/var/lib/strata/store");
}

TEST(UriTest, S3BucketAndPrefix) {
  Uri u = MustParse("s3://bucket/some/prefix");
  EXPECT_EQ(u.scheme, "s3");
  EXPECT_EQ(u.host, "bucket");
  EXPECT_EQ(u.path, "/some/prefix");
  Uri bare = MustParse("s3://bucket");
  EXPECT_EQ(bare.host, "bucket");
  EXPECT_EQ(bare.path, "");
}

TEST(UriTest, HttpEndpointWithBucket) {
  Uri u = MustParse("http://127.0.0.1:9000/bucket");
  EXPECT_EQ(u.scheme, "http");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 9000);
  EXPECT_EQ(u.path, "/bucket");
  EXPECT_EQ(u.ToString(), "http://127.0.0.1:9000/bucket");
}

TEST(UriTest, EmptyAuthoritySchemes) {
  Uri kv = MustParse("memkv://");
  EXPECT_EQ(kv.scheme, "memkv");
  EXPECT_EQ(kv.host, "");
  EXPECT_EQ(kv.path, "");
  EXPECT_EQ(kv.ToString(), "memkv://");
  Uri mem = MustParse("mem://name");
  EXPECT_EQ(mem.scheme, "mem");
  EXPECT_EQ(mem.host, "name");
  EXPECT_EQ(mem.path, "");
}

TEST(UriTest, SchemeIsLowerCased) { EXPECT_EQ(MustParse("HTTPS://Example.com/b").scheme, "https"); }

TEST(UriTest, PercentDecodingInUserPasswordPathAndQuery) {
  Uri u = MustParse("postgres://us%40r:p%3Aw%2Fx@db:5432/my%20db?sslmode=disable&a%3Db=c%26d&flag");
  EXPECT_EQ(u.user, "us@r");
  EXPECT_EQ(u.password, "p:w/x");
  EXPECT_EQ(u.path, "/my db");
  EXPECT_EQ(u.query.at("sslmode"), "disable");
  EXPECT_EQ(u.query.at("a=b"), "c&d");
  EXPECT_EQ(u.query.at("flag"), "");
  // ToString re-encodes so that the result parses to the same fields.
  Uri again = MustParse(u.ToString());
  EXPECT_EQ(again.user, u.user);
  EXPECT_EQ(again.password, u.password);
  EXPECT_EQ(again.path, u.path);
  EXPECT_EQ(again.query, u.query);
  EXPECT_EQ(u.Masked().find("p%3Aw"), std::string::npos);
}

TEST(UriTest, UnescapedAtInPasswordUsesLastAt) {
  Uri u = MustParse("redis://:p@ss@h:1/0");
  EXPECT_EQ(u.password, "p@ss");
  EXPECT_EQ(u.host, "h");
}

TEST(UriTest, Ipv6Literal) {
  Uri u = MustParse("http://[::1]:9000/b");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 9000);
  EXPECT_EQ(u.ToString(), "http://[::1]:9000/b");
  EXPECT_NE(ErrorOf("http://[::1:9000/b").find("IPv6"), std::string::npos);
}

TEST(UriTest, MissingScheme) {
  EXPECT_NE(ErrorOf("/abs/path").find("missing scheme"), std::string::npos);
  EXPECT_NE(ErrorOf("localhost:6379").find("missing scheme"), std::string::npos);
  EXPECT_NE(ErrorOf("://host").find("missing scheme"), std::string::npos);
  EXPECT_NE(ErrorOf("").find("missing scheme"), std::string::npos);
}

TEST(UriTest, BadSchemeCharacter) {
  EXPECT_NE(ErrorOf("re dis://h").find("bad character ' ' in scheme"), std::string::npos);
  EXPECT_NE(ErrorOf("1redis://h").find("in scheme"), std::string::npos);
}

TEST(UriTest, BadPort) {
  EXPECT_NE(ErrorOf("redis://h:abc/0").find("bad port 'abc'"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://h:/0").find("bad port ''"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://h:70000/0").find("bad port '70000'"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://h:0/0").find("bad port '0'"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://h:-1/0").find("bad port '-1'"), std::string::npos);
  EXPECT_NE(ErrorOf("etcd://h1:2379,h2:x/p").find("bad port 'x'"), std::string::npos);
}

TEST(UriTest, EmptyHostInList) {
  EXPECT_NE(ErrorOf("etcd://h1:2379,,h2:2379/p").find("empty host"), std::string::npos);
  EXPECT_NE(ErrorOf("etcd://h1:2379,/p").find("empty host"), std::string::npos);
  EXPECT_NE(ErrorOf("redis://:6379/0").find("empty host"), std::string::npos);
}

TEST(UriTest, BadEscape) {
  std::string m = ErrorOf("file:///dir/%zz/x");
  EXPECT_NE(m.find("bad percent-escape '%zz'"), std::string::npos) << m;
  EXPECT_NE(m.find(" in path"), std::string::npos) << m;
  EXPECT_NE(ErrorOf("file:///dir/%4").find("bad percent-escape"), std::string::npos);
  EXPECT_NE(ErrorOf("s3://b/p?x=%G1").find("bad percent-escape"), std::string::npos);
}

TEST(UriTest, ErrorsNeverShowThePassword) {
  std::string m = ErrorOf("redis://user:secret@h:bad/0");
  EXPECT_NE(m.find("bad port 'bad'"), std::string::npos);
  EXPECT_EQ(m.find("secret"), std::string::npos) << m;
  EXPECT_NE(m.find("redis://user:****@h:bad/0"), std::string::npos) << m;
  std::string m2 = ErrorOf("redis://:sec%zzret@h/0");
  EXPECT_EQ(m2.find("sec"), std::string::npos) << m2;
}

TEST(UriTest, PercentEncodeRoundTrip) {
  std::string all;
  for (int c = 0; c < 256; c++) all.push_back(static_cast<char>(c));
  auto back = PercentDecode(PercentEncode(all, false));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, all);
  EXPECT_EQ(PercentEncode("a b/c~", false), "a%20b%2Fc~");
  EXPECT_EQ(PercentEncode("a b/c~", true), "a%20b/c~");
  EXPECT_EQ(*PercentDecode("a+b%2f"), "a+b/");  // '+' is not a space outside forms
}

}  // namespace
}  // namespace strata
