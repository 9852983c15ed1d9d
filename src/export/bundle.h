#pragma once
// An export bundle: the records of a source node's journals sealed for one-way transfer
// across an isolation device (docs/bundle-format.md). Nothing can come back from the far
// side, so a bundle carries everything the receiver needs to check it alone.
//
// Layout (all integers little-endian):
//   0   magic "SLCXBND1"                8 bytes
//   8   format version                  u32 (1)
//   12  header size                     u32: bytes from 0 to the first record
//   16  source journal epoch            16 bytes
//   32  bundle sequence number          u64 (1, 2, 3, ... per source and export target)
//   40  creation time                   u64, µs since 1970 (UTC)
//   48  record count                    u32
//   52  stream count                    u16
//   54  source node id length           u16 (1 .. 255)
//   56  source node id                  that many bytes
//   then per stream:                    u16 name length (1 .. 64), the name,
//                                       u64 first LSN, u64 last LSN
// Records follow back to back, in the order they were added:
//   0   stream index                    u16, into the header's stream list
//   2   type                            u16, the journal frame's type (never 0)
//   4   payload length                  u32
//   8   source LSN                      u64
//   16  payload                         the journal's payload bytes, unchanged
// Last: masked CRC32C (as the journal's) of every byte before it, u32.

#include <cstdint>
#include <string>
#include <vector>

#include "journal/format.h"

// The namespace is named after the target role: `export` is a C++ keyword.
namespace sluice::oneway {

inline constexpr char kBundleMagic[8] = {'S', 'L', 'C', 'X', 'B', 'N', 'D', '1'};
// Written by this build; the only version it reads. A later version is refused, naming
// it, rather than misread: its layout may differ past the version field. What every
// version keeps: the magic at 0, the version at 8, the checksum in the last 4 bytes.
inline constexpr uint32_t kBundleFormatVersion = 1;
// The header's fixed part, before the node id.
inline constexpr size_t kBundleFixedHeaderSize = 56;
inline constexpr size_t kBundleRecordHeaderSize = 16;
inline constexpr size_t kBundleChecksumSize = 4;
inline constexpr size_t kMaxSourceNodeIdLength = 255;

// The LSNs of one stream carried by a bundle: its first and last record.
struct BundleStreamRange {
  std::string stream;
  journal::Lsn first_lsn = 0;
  journal::Lsn last_lsn = 0;

  bool operator==(const BundleStreamRange&) const = default;
};

struct BundleRecord {
  std::string stream;
  journal::Lsn lsn = 0;  // the source journal's LSN in `stream`
  uint16_t type = 0;     // the source journal frame's type
  std::string payload;   // the source journal's payload, unchanged

  bool operator==(const BundleRecord&) const = default;
};

// A decoded bundle. `streams` lists each stream that has records, in the order of its
// first record; `records` are in the order they were sealed.
struct Bundle {
  std::string source_node;
  journal::Epoch source_epoch{};
  uint64_t sequence = 0;
  uint64_t created_us = 0;
  std::vector<BundleStreamRange> streams;
  std::vector<BundleRecord> records;
};

}  // namespace sluice::oneway
