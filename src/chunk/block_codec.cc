#include "chunk/block_codec.h"

#include <lz4.h>
#include <zstd.h>

#include <cstring>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "fmt/format.h"

namespace strata::chunk {

Result<Compression> ParseCompression(std::string_view name) {
  if (name == "none" || name.empty()) return Compression::kNone;
  if (name == "lz4") return Compression::kLz4;
  if (name == "zstd") return Compression::kZstd;
  return Status::InvalidArgument(
      fmt::format("unknown compression '{}' (expected none, lz4 or zstd)", name));
}

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

namespace {

constexpr int kZstdLevel = 1;

// Compressed payload, or "" when the codec failed or did not save space.
std::string Compress(std::string_view plain, Compression c) {
  std::string out;
  if (c == Compression::kLz4) {
    if (plain.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) return "";
    out.resize(LZ4_compressBound(static_cast<int>(plain.size())));
    int n = LZ4_compress_default(plain.data(), out.data(), static_cast<int>(plain.size()),
                                 static_cast<int>(out.size()));
    if (n <= 0) return "";
    out.resize(n);
  } else if (c == Compression::kZstd) {
    out.resize(ZSTD_compressBound(plain.size()));
    size_t n = ZSTD_compress(out.data(), out.size(), plain.data(), plain.size(), kZstdLevel);
    if (ZSTD_isError(n)) return "";
    out.resize(n);
  }
  if (out.size() >= plain.size()) return "";
  return out;
}

void AppendTrailer(std::string* body, Compression codec, uint32_t plain_len, uint32_t crc) {
  body->reserve(body->size() + kBlockTrailerSize);
  PutU32BE(body, kBlockMagic);
  PutU8(body, kBlockFormatVersion);
  PutU8(body, static_cast<uint8_t>(codec));
  PutU16BE(body, 0);
  PutU32BE(body, plain_len);
  PutU32BE(body, crc);
}

}  // namespace

std::string EncodeBlockParts(std::string_view plain, Compression c, std::string* compressed) {
  compressed->clear();
  Compression used = Compression::kNone;
  if (c != Compression::kNone && !plain.empty()) {
    *compressed = Compress(plain, c);
    if (!compressed->empty()) used = c;
  }
  std::string_view payload = used == Compression::kNone ? plain : *compressed;
  std::string trailer;
  AppendTrailer(&trailer, used, static_cast<uint32_t>(plain.size()), Crc32c(payload));
  return trailer;
}

std::string EncodeBlock(std::string_view plain, Compression c) {
  std::string compressed;
  std::string trailer = EncodeBlockParts(plain, c, &compressed);
  std::string body;
  if (compressed.empty()) {
    body.reserve(plain.size() + kBlockTrailerSize);
    body.assign(plain.data(), plain.size());
  } else {
    body = std::move(compressed);
  }
  body += trailer;
  return body;
}

namespace {

// Checks the trailer and CRC of `stored`; *codec and *plain_len from the trailer.
Status CheckBody(std::string_view stored, uint32_t expected_len, uint8_t* codec_out,
                 uint32_t* plain_len_out) {
  if (stored.size() < kBlockTrailerSize) {
    return Status::Corruption(
        fmt::format("block body of {} bytes is shorter than its trailer", stored.size()));
  }
  std::string_view payload = stored.substr(0, stored.size() - kBlockTrailerSize);
  ByteReader r(stored.substr(payload.size()));
  uint32_t magic = 0, plain_len = 0, crc = 0;
  uint8_t version = 0, codec = 0;
  uint16_t reserved = 0;
  bool ok = r.ReadU32(&magic) && r.ReadU8(&version) && r.ReadU8(&codec) && r.ReadU16(&reserved) &&
            r.ReadU32(&plain_len) && r.ReadU32(&crc);
  if (!ok || magic != kBlockMagic) return Status::Corruption("block trailer has a bad magic");
  if (version != kBlockFormatVersion) {
    return Status::Corruption(fmt::format("block format version {} is not supported", version));
  }
  if (plain_len != expected_len) {
    return Status::Corruption(fmt::format("block length {} in trailer, {} expected from its key",
                                          plain_len, expected_len));
  }
  uint32_t actual = Crc32c(payload);
  if (actual != crc) {
    return Status::Corruption(
        fmt::format("block checksum mismatch (stored {:08x}, computed {:08x})", crc, actual));
  }
  if (static_cast<Compression>(codec) == Compression::kNone && payload.size() != plain_len) {
    return Status::Corruption("uncompressed block payload length differs from its trailer");
  }
  *codec_out = codec;
  *plain_len_out = plain_len;
  return Status::OK();
}

// Decodes a checked payload into out[0, plain_len), which the caller allocated; every byte
// of it is written when OK. kNone is a copy.
Status DecodePayloadInto(std::string_view payload, uint8_t codec, uint32_t plain_len,
                         char* out) {
  switch (static_cast<Compression>(codec)) {
    case Compression::kNone:
      if (plain_len > 0) std::memcpy(out, payload.data(), plain_len);  // CheckBody: same size
      return Status::OK();
    case Compression::kLz4: {
      int n = LZ4_decompress_safe(payload.data(), out, static_cast<int>(payload.size()),
                                  static_cast<int>(plain_len));
      if (n < 0 || static_cast<uint32_t>(n) != plain_len) {
        return Status::Corruption("lz4 block does not decompress to its length");
      }
      return Status::OK();
    }
    case Compression::kZstd: {
      size_t n = ZSTD_decompress(out, plain_len, payload.data(), payload.size());
      if (ZSTD_isError(n) || n != plain_len) {
        return Status::Corruption("zstd block does not decompress to its length");
      }
      return Status::OK();
    }
  }
  return Status::Corruption(fmt::format("block codec {} is unknown", codec));
}

}  // namespace

Status DecodeBlockInPlace(BlockBuffer* stored, uint32_t expected_len) {
  uint8_t codec = 0;
  uint32_t plain_len = 0;
  RETURN_IF_ERROR(CheckBody(stored->view(), expected_len, &codec, &plain_len));
  if (static_cast<Compression>(codec) != Compression::kNone) {
    BlockBuffer plain = BlockBuffer::Uninitialized(plain_len);
    RETURN_IF_ERROR(DecodePayloadInto(stored->view().substr(0, stored->size() - kBlockTrailerSize),
                                      codec, plain_len, plain.mutable_data()));
    *stored = std::move(plain);
    return Status::OK();
  }
  // The payload is the plain block at byte 0: drop the trailer in place, no copy.
  stored->Shrink(plain_len);
  return Status::OK();
}

Result<std::string> DecodeBlock(std::string_view stored, uint32_t expected_len) {
  uint8_t codec = 0;
  uint32_t plain_len = 0;
  RETURN_IF_ERROR(CheckBody(stored, expected_len, &codec, &plain_len));
  std::string plain(plain_len, '\0');  // not a hot path (tools and tests): zeroed, then written
  RETURN_IF_ERROR(DecodePayloadInto(stored.substr(0, stored.size() - kBlockTrailerSize), codec,
                                    plain_len, plain.data()));
  return plain;
}

}  // namespace strata::chunk
