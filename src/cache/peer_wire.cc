#include "cache/peer_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstring>

#include "common/bytes.h"

namespace strata::cache::wire {

std::string_view OpName(Op op) {
  switch (op) {
    case Op::kGet:
      return "GET";
    case Op::kPut:
      return "PUT";
    case Op::kCached:
      return "CACHED";
    case Op::kEvict:
      return "DELETE";
  }
  return "";
}

std::string EncodeRequest(const RequestHead& h) {
  std::string out;
  out.reserve(kRequestHeadSize + h.auth.size() + h.key.size());
  PutU32BE(&out, kRequestMagic);
  PutU8(&out, static_cast<uint8_t>(h.op));
  PutU8(&out, 0);
  PutU16BE(&out, static_cast<uint16_t>(h.key.size()));
  PutU32BE(&out, h.len);
  PutU32BE(&out, h.crc);
  PutU16BE(&out, static_cast<uint16_t>(h.auth.size()));
  out += h.auth;
  out += h.key;
  return out;
}

Status DecodeRequestHead(const char* p, RequestHead* h, size_t* auth_len, size_t* key_len) {
  if (GetU32BE(p) != kRequestMagic) return Status::Corruption("not a peer protocol 2 request");
  const uint8_t op = static_cast<uint8_t>(p[4]);
  if (op < 1 || op > 4) return Status::Corruption("unknown peer request op " + std::to_string(op));
  h->op = static_cast<Op>(op);
  *key_len = GetU16BE(p + 6);
  h->len = GetU32BE(p + 8);
  h->crc = GetU32BE(p + 12);
  *auth_len = GetU16BE(p + 16);
  if (*key_len == 0 || *key_len > kMaxKey || *auth_len > kMaxAuth) {
    return Status::Corruption("peer request key or auth length out of bounds");
  }
  if (h->len > kMaxBlock) return Status::Corruption("peer request length out of bounds");
  return Status::OK();
}

std::string EncodeReply(const ReplyHead& h) {
  std::string out;
  out.reserve(kReplyHeadSize + h.mac.size());
  PutU32BE(&out, kReplyMagic);
  PutU16BE(&out, h.status);
  PutU16BE(&out, static_cast<uint16_t>(h.mac.size()));
  PutU32BE(&out, h.body_len);
  PutU32BE(&out, h.crc);
  out += h.mac;
  return out;
}

Status DecodeReplyHead(const char* p, ReplyHead* h, size_t* mac_len) {
  if (std::memcmp(p, "HTTP", 4) == 0) {
    return Status::Corruption("the peer speaks peer protocol 1 (HTTP); this member needs 2");
  }
  if (GetU32BE(p) != kReplyMagic) return Status::Corruption("not a peer protocol 2 reply");
  h->status = GetU16BE(p + 4);
  *mac_len = GetU16BE(p + 6);
  h->body_len = GetU32BE(p + 8);
  h->crc = GetU32BE(p + 12);
  if (*mac_len > kMaxMac || h->body_len > kMaxBlock) {
    return Status::Corruption("peer reply lengths out of bounds");
  }
  return Status::OK();
}

bool LooksLikeHttp(std::string_view first4) {
  for (std::string_view m : {"GET ", "PUT ", "POST", "HEAD", "DELE", "OPTI", "PATC"}) {
    if (first4 == m) return true;
  }
  return false;
}

namespace {

// Bounds the next wait by what is left of the deadline; false when nothing is left.
bool ArmTimeout(int fd, int opt, const Clock* clock, int64_t deadline_ns) {
  if (deadline_ns == 0) return true;
  const int64_t left = deadline_ns - clock->MonotonicNanos();
  if (left <= 0) return false;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(left / 1000000000);
  tv.tv_usec = static_cast<suseconds_t>((left % 1000000000) / 1000);
  if (tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1;
  setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
  return true;
}

Status SocketError(const char* what, int err) {
  if (err == EAGAIN || err == EWOULDBLOCK) return Status::Timeout(std::string(what) + " timed out");
  return Status::Unavailable(std::string(what) + ": " + std::strerror(err));
}

}  // namespace

Status RecvExact(int fd, char* buf, size_t n, const Clock* clock, int64_t deadline_ns,
                 size_t* got) {
  size_t done = 0;
  Status st;
  while (done < n) {
    if (!ArmTimeout(fd, SO_RCVTIMEO, clock, deadline_ns)) {
      st = Status::Timeout("receive timed out");
      break;
    }
    const ssize_t r = recv(fd, buf + done, n - done, MSG_WAITALL);
    if (r > 0) {
      done += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) {
      st = Status::Unavailable("connection closed by the peer");
      break;
    }
    if (errno == EINTR) continue;
    st = SocketError("receive", errno);
    break;
  }
  if (got) *got = done;
  return st;
}

Status SendAll(int fd, const char* buf, size_t n, const Clock* clock, int64_t deadline_ns) {
  size_t done = 0;
  while (done < n) {
    if (!ArmTimeout(fd, SO_SNDTIMEO, clock, deadline_ns)) return Status::Timeout("send timed out");
    const ssize_t r = send(fd, buf + done, n - done, MSG_NOSIGNAL);
    if (r >= 0) {
      done += static_cast<size_t>(r);
      continue;
    }
    if (errno == EINTR) continue;
    return SocketError("send", errno);
  }
  return Status::OK();
}

Status SendFile(int fd, int file_fd, size_t n, const Clock* clock, int64_t deadline_ns) {
  // sendfile reads the file a pipe's worth (64 KiB) at a time, and the kernel's readahead
  // grows from there: ask for the whole block at once, so that a cold cache file is read
  // with one large request rather than a ramp of small ones. Advice only: errors ignored.
  (void)posix_fadvise(file_fd, 0, static_cast<off_t>(n), POSIX_FADV_WILLNEED);
  off_t off = 0;
  while (static_cast<size_t>(off) < n) {
    if (!ArmTimeout(fd, SO_SNDTIMEO, clock, deadline_ns)) return Status::Timeout("send timed out");
    const ssize_t r = sendfile(fd, file_fd, &off, n - static_cast<size_t>(off));
    if (r > 0) continue;  // off advanced
    if (r == 0) return Status::IOError("cache file shorter than its block");
    if (errno == EINTR) continue;
    return SocketError("sendfile", errno);
  }
  return Status::OK();
}

void TuneSocket(int fd, int64_t wait_ms) {
  int yes = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  // A whole block in flight; the kernel caps these at net.core.{r,w}mem_max.
  int buf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(wait_ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((wait_ms % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

}  // namespace strata::cache::wire
