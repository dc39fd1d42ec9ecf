#include "tests/support/redis_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace strata::testing {

Result<std::string> RedisInlineCommand(int port, const std::string& command,
                                       const std::string& password) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return FromErrno(errno, "socket");
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Status s = FromErrno(errno, "connect to redis on port " + std::to_string(port));
    close(fd);
    return s;
  }
  std::string req = (password.empty() ? "" : "AUTH " + password + "\r\n") + command + "\r\n";
  std::string line;
  int lines_wanted = password.empty() ? 1 : 2;
  if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
    char c;
    while (lines_wanted > 0 && read(fd, &c, 1) == 1) {
      if (c == '\n') {
        if (--lines_wanted > 0) line.clear();
      } else if (c != '\r') {
        line.push_back(c);
      }
    }
  }
  close(fd);
  if (line.empty())
    return Status::Unavailable("no reply from redis on port " + std::to_string(port));
  return line;
}

Result<std::unique_ptr<RedisServer>> RedisServer::Start(std::vector<std::string> extra_args) {
  auto server = std::unique_ptr<RedisServer>(new RedisServer);
  server->extra_args_ = std::move(extra_args);
  server->dir_ = MakeTempDir("strata-redis");
  if (server->dir_.empty()) return Status::IOError("cannot create a temporary directory");
  server->port_ = FreePort();
  RETURN_IF_ERROR(server->Launch());
  return server;
}

RedisServer::~RedisServer() {
  proc_.Stop();
  if (!dir_.empty()) RemoveTree(dir_);
}

std::string RedisServer::Url(int db) const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
}

Status RedisServer::Launch() {
  std::vector<std::string> argv = {
      "redis-server", "--bind", "127.0.0.1", "--port", std::to_string(port_), "--save", "",
      "--appendonly", "no",     "--dir",     dir_};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  RETURN_IF_ERROR(proc_.Start(argv, dir_ + "/redis.log"));
  RETURN_IF_ERROR(WaitForPort(port_, 5000));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    // Without the password PING answers NOAUTH: that too says the server is up.
    auto reply = RedisInlineCommand(port_, "PING");
    if (reply.ok() && (*reply == "+PONG" || reply->rfind("-NOAUTH", 0) == 0)) {
      return Status::OK();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Timeout("redis-server on port " + std::to_string(port_) + " does not answer");
}

Status RedisServer::Restart() {
  proc_.Stop();
  return Launch();
}

}  // namespace strata::testing
