#pragma once
// The journal's on-disk format (documented in docs/journal-format.md).
//
// A segment file is named by its first LSN (20 decimal digits + ".seg") and starts with a
// 128-byte header:
//   0  magic "SLCJSEG1"          8 bytes
//   8  format version            u32 (2; version 1 segments are still read)
//   12 header size               u32 (128)
//   16 epoch                     16 bytes (random per data directory)
//   32 segment number            u64 (first segment of a journal is 1, then +1 each)
//   40 first LSN                 u64
//   48 predecessor's last LSN    u64 (first LSN - 1; names the records that must exist)
//   56 stream name length        u16, then 2 zero bytes
//   60 stream name               64 bytes, zero padded
//   124 masked CRC32C of bytes 0..123
// Records follow back to back, each framed as:
//   0  masked CRC32C             u32, over bytes 4 .. end of payload
//   4  payload length            u32
//   8  type                      u16 (0 is never written: zero fill is not a record;
//                                     bit 0x8000 = a reader may skip it if unknown)
//   10 flags                     u16 (version 1: always 0)
//                                     0x0001 batch continues: the next record belongs to
//                                            the same append request
//                                     0x0002 group continues: the writer wrote more of
//                                            the same write group before its fdatasync
//   12 LSN                       u64
//   20 payload
// All integers are little-endian. A record without flags is a whole request and ends its
// write group, which is how every version 1 record reads.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice::journal {

using Lsn = uint64_t;
using Epoch = std::array<uint8_t, 16>;

inline constexpr size_t kSegmentHeaderSize = 128;
inline constexpr size_t kFrameHeaderSize = 20;
inline constexpr size_t kMaxStreamNameLength = 64;
// Written into new segments. Version 1 segments (flags always 0) are read and appended
// to never: a journal whose live segment is version 1 starts a new segment first.
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr uint32_t kOldestFormatVersion = 1;
inline constexpr uint16_t kFrameBatchContinues = 0x0001;
inline constexpr uint16_t kFrameGroupContinues = 0x0002;
inline constexpr uint16_t kKnownFrameFlags = kFrameBatchContinues | kFrameGroupContinues;
// Recovery tells pages lost by a power loss (zeros, page-aligned) from other damage by
// this size: the page size of every Linux filesystem the journal runs on.
inline constexpr uint64_t kDiskPageSize = 4096;
inline constexpr uint16_t kIgnorableTypeBit = 0x8000;
// The largest payload the format allows. Readers and recovery check frames against this,
// not against the configured maximum record size: that limit applies to new appends
// only, so lowering it never makes older, larger records look like damage.
inline constexpr uint32_t kMaxPayloadBytes = 1u << 30;

struct SegmentHeader {
  Epoch epoch{};
  uint64_t number = 0;
  Lsn first_lsn = 0;
  Lsn prev_last_lsn = 0;
  std::string stream;
  uint32_t version = kFormatVersion;  // what DecodeSegmentHeader read; what Encode writes
};

// Writes the 128-byte header into `out` (appended).
void EncodeSegmentHeader(const SegmentHeader& header, std::string* out);
// Parses a header; the error says which field is wrong.
Result<SegmentHeader> DecodeSegmentHeader(std::string_view bytes);

// Appends one framed record to `out`.
void EncodeFrame(Lsn lsn, uint16_t type, std::string_view payload, std::string* out,
                 uint16_t flags = 0);
// Replaces the flags of the complete frame at `frame` (and its checksum).
void SetFrameFlags(char* frame, uint16_t flags);

struct FrameView {
  Lsn lsn = 0;
  uint16_t type = 0;
  uint16_t flags = 0;
  std::string_view payload;
  size_t frame_size = 0;  // header + payload
};

enum class FrameCheck {
  kOk,
  kIncomplete,   // fewer bytes than the header or the length needs
  kBadType,      // type 0 (zero fill) or unknown flags set
  kTooLarge,     // length above the maximum record size
  kBadChecksum,
};
std::string_view FrameCheckName(FrameCheck check);

// Checks the frame at the start of `bytes`.
FrameCheck DecodeFrame(std::string_view bytes, uint32_t max_payload, FrameView* out);

// "00000000000000000042.seg" for first LSN 42; parses it back.
std::string SegmentFileName(Lsn first_lsn);
std::optional<Lsn> ParseSegmentFileName(std::string_view name);

std::string EpochToHex(const Epoch& epoch);
std::optional<Epoch> EpochFromHex(std::string_view hex);
Epoch NewRandomEpoch();

}  // namespace sluice::journal
