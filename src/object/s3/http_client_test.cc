// HttpClient against a minimal HTTP/1.1 server on a loopback port (a thread in this test):
// connections are reused across requests, a silent server gives kTimeout, nobody listening
// gives kUnavailable naming the endpoint, and bodies/headers travel intact, whole or in pieces.
#include "object/s3/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "object/s3/sigv4.h"

namespace strata::object::s3 {
namespace {

// Accepts connections on 127.0.0.1; for each, answers every request with 200 and a body
// that echoes the method, the path, the request body length and, when `hash_bodies`, the
// body's SHA-256 ("... body=N sha256=HEX") — unless `silent`, when it
// reads and never answers. Counts accepted connections.
class TinyServer {
 public:
  explicit TinyServer(bool silent, bool hash_bodies = false)
      : silent_(silent), hash_bodies_(hash_bodies) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 16);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~TinyServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    acceptor_.join();
    for (int c : conns_) ::shutdown(c, SHUT_RDWR);
    for (auto& t : workers_) t.join();
    for (int c : conns_) ::close(c);
  }
  int port() const { return port_; }
  int connections() const { return accepted_; }

 private:
  void AcceptLoop() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++accepted_;
      conns_.push_back(c);
      workers_.emplace_back([this, c] { Serve(c); });
    }
  }
  void Serve(int c) {
    std::string buf;
    char tmp[65536];
    for (;;) {
      size_t end = buf.find("\r\n\r\n");
      while (end == std::string::npos) {
        ssize_t n = ::read(c, tmp, sizeof(tmp));
        if (n <= 0) return;
        buf.append(tmp, n);
        end = buf.find("\r\n\r\n");
      }
      std::string head = buf.substr(0, end);
      size_t body_len = 0;
      size_t cl = head.find("Content-Length: ");
      if (cl != std::string::npos) body_len = std::stoul(head.substr(cl + 16));
      while (buf.size() < end + 4 + body_len) {
        ssize_t n = ::read(c, tmp, sizeof(tmp));
        if (n <= 0) return;
        buf.append(tmp, n);
      }
      const std::string received = buf.substr(end + 4, body_len);
      buf.erase(0, end + 4 + body_len);
      if (silent_) continue;
      std::string request_line = head.substr(0, head.find("\r\n"));
      std::string body = request_line + " body=" + std::to_string(body_len);
      if (hash_bodies_) body += " sha256=" + Sha256Hex(received);
      bool is_head = request_line.rfind("HEAD ", 0) == 0;
      std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                         "\r\nX-Echo:  spaced value \r\nETag: \"abc\"\r\n\r\n" +
                         (is_head ? "" : body);
      if (::write(c, resp.data(), resp.size()) < 0) return;
    }
  }

  bool silent_;
  bool hash_bodies_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::vector<int> conns_;  // touched by the acceptor only until it is joined
  std::vector<std::thread> workers_;
};

std::string Url(int port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

TEST(HttpClientTest, SequentialRequestsReuseOneConnection) {
  TinyServer server(false);
  auto client = HttpClient::Open(HttpClientOptions{});
  ASSERT_TRUE(client.ok());
  const std::string payload(100000, 'p');
  for (int i = 0; i < 10; ++i) {
    HttpRequest req;
    req.method = i % 2 ? "PUT" : "GET";
    req.url = Url(server.port(), "/b/k" + std::to_string(i));
    if (req.method == "PUT") req.body = payload;
    auto resp = (*client)->Perform(req);
    ASSERT_TRUE(resp.ok()) << resp.status().ToString();
    EXPECT_EQ(resp->status, 200);
    EXPECT_EQ(resp->body, req.method + " /b/k" + std::to_string(i) + " HTTP/1.1 body=" +
                              std::to_string(req.body.size()));
    EXPECT_EQ(resp->Header("x-echo"), "spaced value");
    EXPECT_EQ(resp->Header("etag"), "\"abc\"");
  }
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClientTest, BodyInPiecesArrivesAsTheirConcatenation) {
  TinyServer server(false, /*hash_bodies=*/true);
  auto client = HttpClient::Open(HttpClientOptions{});
  ASSERT_TRUE(client.ok());
  // A block-sized payload larger than curl's send buffer, an empty piece, a short trailer.
  std::string payload((4u << 20) + 3, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 131) >> 3);
  const std::string trailer = "0123456789abcdef";
  for (std::string method : {"PUT", "POST"}) {
    HttpRequest req;
    req.method = method;
    req.url = Url(server.port(), "/b/blk");
    req.body_parts = {payload, "", trailer};
    auto resp = (*client)->Perform(req);
    ASSERT_TRUE(resp.ok()) << resp.status().ToString();
    EXPECT_EQ(resp->status, 200);
    EXPECT_EQ(resp->body, method + " /b/blk HTTP/1.1 body=" +
                              std::to_string(payload.size() + trailer.size()) +
                              " sha256=" + Sha256Hex(payload + trailer));
  }
  // The same handle then sends a plain body and a plain GET: nothing of the pieces lingers.
  HttpRequest put;
  put.method = "PUT";
  put.url = Url(server.port(), "/b/small");
  put.body = "abc";
  auto resp = (*client)->Perform(put);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->body, "PUT /b/small HTTP/1.1 body=3 sha256=" + Sha256Hex("abc"));
  HttpRequest get;
  get.method = "GET";
  get.url = Url(server.port(), "/b/small");
  resp = (*client)->Perform(get);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->body, "GET /b/small HTTP/1.1 body=0 sha256=" + std::string(kEmptySha256));
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClientTest, HeadAndDeleteAndEmptyPut) {
  TinyServer server(false);
  auto client = HttpClient::Open(HttpClientOptions{});
  ASSERT_TRUE(client.ok());
  for (std::string method : {"HEAD", "DELETE", "PUT", "POST"}) {
    HttpRequest req;
    req.method = method;
    req.url = Url(server.port(), "/x");
    auto resp = (*client)->Perform(req);
    ASSERT_TRUE(resp.ok()) << method << ": " << resp.status().ToString();
    EXPECT_EQ(resp->status, 200);
    if (method != "HEAD") EXPECT_EQ(resp->body, method + " /x HTTP/1.1 body=0");
  }
}

TEST(HttpClientTest, ConcurrentCallersAreBoundedByMaxConnections) {
  TinyServer server(false);
  HttpClientOptions o;
  o.max_connections = 2;
  auto client = HttpClient::Open(o);
  ASSERT_TRUE(client.ok());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        HttpRequest req;
        req.method = "GET";
        req.url = Url(server.port(), "/c");
        auto resp = (*client)->Perform(req);
        if (resp.ok() && resp->status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 30);
  EXPECT_LE(server.connections(), 2);
}

TEST(HttpClientTest, SilentServerTimesOut) {
  TinyServer server(true);
  HttpClientOptions o;
  o.request_timeout_ms = 300;
  auto client = HttpClient::Open(o);
  ASSERT_TRUE(client.ok());
  HttpRequest req;
  req.method = "GET";
  req.url = Url(server.port(), "/slow");
  auto resp = (*client)->Perform(req);
  EXPECT_EQ(resp.code(), Code::kTimeout) << resp.status().ToString();
  EXPECT_TRUE(resp.status().IsRetryable());
}

TEST(HttpClientTest, NothingListeningIsUnavailableNamingTheEndpoint) {
  int port;
  {
    TinyServer gone(false);  // a port that was just free, and is closed again
    port = gone.port();
  }
  auto client = HttpClient::Open(HttpClientOptions{});
  ASSERT_TRUE(client.ok());
  HttpRequest req;
  req.method = "GET";
  req.url = Url(port, "/k");
  auto resp = (*client)->Perform(req);
  EXPECT_EQ(resp.code(), Code::kUnavailable) << resp.status().ToString();
  EXPECT_NE(resp.status().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << resp.status().ToString();
}

}  // namespace
}  // namespace strata::object::s3
