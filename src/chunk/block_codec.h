// Block codec: how a block's plain bytes become the stored object body, version 1
// (docs/format/block-layout.md). The body is
//
//     payload | trailer (16 bytes, big-endian):
//         u32 magic 0x53424C4B ("SBLK") | u8 version (1) | u8 codec | u16 reserved (0)
//         | u32 plain_len | u32 crc32c(payload)
//
// Ranged reads: with codec kNone the payload IS the plain block, starting at
// byte 0 of the object, so bytes [off, off+n) of the block are bytes [off, off+n) of the
// object and a ranged GET needs no decoding (it cannot verify the CRC; full reads do).
// The trailer sits at the end for exactly that reason.
//
// Codecs: kNone, kLz4 (LZ4 block format, default acceleration), kZstd (level 1). When
// compression does not make a block smaller it is stored with codec kNone, so a volume's
// `compression` setting says what MAY be used and each block says what WAS used.
//
// Thread-safety: pure functions.
// Errors: DecodeBlock returns kCorruption with a clear message (bad magic / version / length,
// checksum mismatch, undecodable payload); callers add the object key as context.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/block_buffer.h"
#include "common/status.h"

namespace strata::chunk {

enum class Compression : uint8_t { kNone = 0, kLz4 = 1, kZstd = 2 };

// "none", "lz4", "zstd" (case-sensitive, as stored in the volume format); kInvalidArgument
// otherwise.
Result<Compression> ParseCompression(std::string_view name);
std::string_view CompressionName(Compression c);

constexpr uint32_t kBlockMagic = 0x53424C4B;  // "SBLK"
constexpr uint8_t kBlockFormatVersion = 1;
constexpr size_t kBlockTrailerSize = 16;

// The stored body for `plain` under volume compression `c`.
std::string EncodeBlock(std::string_view plain, Compression c);
// The same body as two parts, for a Put that need not join them (ObjectStore::PutParts): the
// payload, which is `plain` itself when stored uncompressed (*compressed left empty) or
// *compressed, then the returned trailer. EncodeBlock == payload + trailer.
std::string EncodeBlockParts(std::string_view plain, Compression c, std::string* compressed);

// The plain bytes of a full stored body, after checking the trailer and CRC32C.
// `expected_len` is the block length from its key; a mismatch is kCorruption.
Result<std::string> DecodeBlock(std::string_view stored, uint32_t expected_len);
// The same in place: *stored becomes the plain block. An uncompressed block keeps the body's
// own buffer (the trailer cut off, no copy of the payload); a compressed one is decoded
// straight into a new buffer that is not zero-filled first. On error *stored is unchanged.
Status DecodeBlockInPlace(BlockBuffer* stored, uint32_t expected_len);

}  // namespace strata::chunk
