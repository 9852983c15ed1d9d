#pragma once
// Seals journal records into one export bundle (format: export/bundle.h,
// docs/bundle-format.md).

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "export/bundle.h"

namespace sluice::oneway {

// Not thread-safe. Usage: construct, Add the records, Finish once.
class BundleWriter {
 public:
  // REQUIRES: sequence >= 1 (numbering starts at 1: the receiver's gap detection counts
  // from there); source_node non-empty and at most kMaxSourceNodeIdLength bytes (checked
  // by Finish).
  BundleWriter(std::string source_node, const journal::Epoch& source_epoch, uint64_t sequence,
               uint64_t created_us);

  // Adds one record. Refused (kInvalidArgument, nothing added) when the decoder would
  // refuse the bundle for it: an LSN of 0 or not above the stream's previous one, type 0,
  // a stream name empty or longer than journal::kMaxStreamNameLength, a payload above
  // journal::kMaxPayloadBytes, more streams or records than the header can count.
  Status Add(std::string_view stream, journal::Lsn lsn, uint16_t type, std::string_view payload);

  uint32_t record_count() const { return record_count_; }
  // What Finish would return, in bytes: for closing bundles at a size limit.
  size_t EncodedSize() const;

  // The whole bundle. Refused when the constructor's arguments were out of range.
  Result<std::string> Finish() const;

 private:
  std::string source_node_;
  journal::Epoch source_epoch_;
  uint64_t sequence_;
  uint64_t created_us_;
  std::vector<BundleStreamRange> streams_;
  std::unordered_map<std::string, uint16_t> stream_index_;
  size_t stream_table_bytes_ = 0;
  uint32_t record_count_ = 0;
  std::string records_;  // the encoded records, back to back
};

}  // namespace sluice::oneway
