// PeerWire: the frames of the cache group's peer protocol, version 2
// (docs/format/peer-protocol.md), and the socket I/O both ends use to move them.
//
// One TCP connection carries one request at a time, then its reply; connections are kept and
// reused. A request is a fixed 18-byte head, the auth text (PeerAuth::SignRequest), the key,
// and for a PUT the block. A reply is a fixed 16-byte head, the reply MAC (hex; none for 403)
// and the body. The block travels as its owner stores it: its bytes and the CRC32C stored with
// them (a disk cache file's trailer), so that only the receiver makes a pass over it.
//
// Why framed TCP rather than HTTP/1.1 (version 1): with cpp-httplib the owner copied every
// block into the response body and CRC'd it, and the client received it in 4 KiB pieces with a
// poll() before each (bench/RESULTS.md, issue 14: CRC32C, memmove and poll were the top of the
// peer-hit profile). Here the owner sends a cache file with sendfile(2) and the reader receives
// straight into the block's final buffer.
//
// A version 1 member (HTTP) talking to a version 2 one gets a clear refusal and reads from the
// store: the server answers anything starting with an HTTP method with an HTTP 403 naming the
// version, and the client reports a reply that starts with "HTTP" as "speaks version 1".
//
// Thread-safety: the functions are pure or act on the caller's socket only.
// Errors: the socket functions return kUnavailable (peer closed, reset, refused) or kTimeout
// (the deadline passed); the decoders kCorruption for a malformed head.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace strata::cache::wire {

inline constexpr uint32_t kRequestMagic = 0x53505132;  // "SPQ2"
inline constexpr uint32_t kReplyMagic = 0x53504132;    // "SPA2"
inline constexpr size_t kRequestHeadSize = 18;
inline constexpr size_t kReplyHeadSize = 16;
inline constexpr uint32_t kMaxBlock = 64u << 20;  // larger lengths are refused unread
inline constexpr size_t kMaxKey = 1024;
inline constexpr size_t kMaxAuth = 256;
inline constexpr size_t kMaxMac = 128;

enum class Op : uint8_t { kGet = 1, kPut = 2, kCached = 3, kEvict = 4 };
// The method name the request MAC covers: "GET", "PUT", "CACHED", "DELETE"; "" for others.
std::string_view OpName(Op op);

struct RequestHead {
  Op op = Op::kGet;
  uint32_t len = 0;  // the block's plain length (its key names it); a PUT's body length
  uint32_t crc = 0;  // PUT: CRC32C of the body; 0 otherwise
  std::string auth;  // "2 UNIX NONCE MAC" (PeerAuth)
  std::string key;
};
// Head, auth and key, ready to send (a PUT's body follows).
std::string EncodeRequest(const RequestHead& h);
// The fixed head: fills op/len/crc and the lengths of the auth and key that follow.
Status DecodeRequestHead(const char* p, RequestHead* h, size_t* auth_len, size_t* key_len);

struct ReplyHead {
  uint16_t status = 0;  // 200, 204, 400, 403, 404, 503
  uint32_t body_len = 0;
  uint32_t crc = 0;  // CRC32C of the body
  std::string mac;   // PeerAuth::SignReply; empty for 403
};
std::string EncodeReply(const ReplyHead& h);
Status DecodeReplyHead(const char* p, ReplyHead* h, size_t* mac_len);

// True when the first bytes of a request look like HTTP (a version 1 member).
bool LooksLikeHttp(std::string_view first4);

// Socket I/O with a deadline (`clock`'s MonotonicNanos; 0 = none: then only the per-wait
// timeouts set on the socket bound it). `*got` (may be null) says how many bytes arrived
// before a failure, so that a caller can tell "nothing came back" from "cut off mid-way".
Status RecvExact(int fd, char* buf, size_t n, const Clock* clock, int64_t deadline_ns,
                 size_t* got = nullptr);
Status SendAll(int fd, const char* buf, size_t n, const Clock* clock, int64_t deadline_ns);
// Sends [0, n) of the file `file_fd` with sendfile(2), after asking the kernel to read all of
// it in (POSIX_FADV_WILLNEED).
Status SendFile(int fd, int file_fd, size_t n, const Clock* clock, int64_t deadline_ns);
// TCP_NODELAY, 4 MiB send and receive buffers, and per-wait timeouts of `wait_ms`.
void TuneSocket(int fd, int64_t wait_ms);

}  // namespace strata::cache::wire
