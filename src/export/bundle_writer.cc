#include "export/bundle_writer.h"

#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "common/crc32c.h"
#include "common/little_endian.h"

namespace sluice::oneway {
namespace {

// Per stream in the header: name length, name, first LSN, last LSN.
size_t StreamEntrySize(std::string_view stream) { return 2 + stream.size() + 8 + 8; }

}  // namespace

BundleWriter::BundleWriter(std::string source_node, const journal::Epoch& source_epoch,
                           uint64_t sequence, uint64_t created_us)
    : source_node_(std::move(source_node)),
      source_epoch_(source_epoch),
      sequence_(sequence),
      created_us_(created_us) {}

Status BundleWriter::Add(std::string_view stream, journal::Lsn lsn, uint16_t type,
                         std::string_view payload) {
  if (stream.empty() || stream.size() > journal::kMaxStreamNameLength) {
    return Status::InvalidArgument(fmt::format("bundle {}: stream name '{}' is not 1 to {} bytes",
                                               sequence_, stream, journal::kMaxStreamNameLength));
  }
  if (lsn == 0 || type == 0) {
    return Status::InvalidArgument(fmt::format(
        "bundle {}: stream '{}': LSN {} type {}: neither may be 0", sequence_, stream, lsn, type));
  }
  if (payload.size() > journal::kMaxPayloadBytes) {
    return Status::InvalidArgument(
        fmt::format("bundle {}: stream '{}' LSN {}: payload of {} bytes is above the maximum of {}",
                    sequence_, stream, lsn, payload.size(), journal::kMaxPayloadBytes));
  }
  if (record_count_ == std::numeric_limits<uint32_t>::max()) {
    return Status::InvalidArgument(
        fmt::format("bundle {}: full at {} records", sequence_, record_count_));
  }
  auto it = stream_index_.find(std::string(stream));
  if (it == stream_index_.end()) {
    if (streams_.size() == std::numeric_limits<uint16_t>::max()) {
      return Status::InvalidArgument(
          fmt::format("bundle {}: full at {} streams", sequence_, streams_.size()));
    }
    it = stream_index_.emplace(std::string(stream), static_cast<uint16_t>(streams_.size())).first;
    streams_.push_back({std::string(stream), lsn, lsn});
    stream_table_bytes_ += StreamEntrySize(stream);
  } else {
    BundleStreamRange& range = streams_[it->second];
    // The decoder refuses LSNs that do not rise within a stream: refuse them here, where
    // the caller can still tell which record was wrong.
    if (lsn <= range.last_lsn) {
      return Status::InvalidArgument(
          fmt::format("bundle {}: LSN {} is not above the previous LSN {} of stream '{}'",
                      sequence_, lsn, range.last_lsn, stream));
    }
    range.last_lsn = lsn;
  }
  char header[kBundleRecordHeaderSize];
  PutLe<uint16_t>(header, it->second);
  PutLe<uint16_t>(header + 2, type);
  PutLe<uint32_t>(header + 4, static_cast<uint32_t>(payload.size()));
  PutLe<uint64_t>(header + 8, lsn);
  records_.append(header, sizeof(header));
  records_.append(payload);
  ++record_count_;
  return Status::OK();
}

size_t BundleWriter::EncodedSize() const {
  return kBundleFixedHeaderSize + source_node_.size() + stream_table_bytes_ + records_.size() +
         kBundleChecksumSize;
}

Result<std::string> BundleWriter::Finish() const {
  if (sequence_ == 0) {
    return Status::InvalidArgument("bundle sequence numbers start at 1, not 0");
  }
  if (source_node_.empty() || source_node_.size() > kMaxSourceNodeIdLength) {
    return Status::InvalidArgument(
        fmt::format("bundle {}: source node id '{}' is not 1 to {} bytes", sequence_, source_node_,
                    kMaxSourceNodeIdLength));
  }
  const size_t header_size = kBundleFixedHeaderSize + source_node_.size() + stream_table_bytes_;
  std::string out(header_size, '\0');
  char* p = out.data();
  std::memcpy(p, kBundleMagic, sizeof(kBundleMagic));
  PutLe<uint32_t>(p + 8, kBundleFormatVersion);
  PutLe<uint32_t>(p + 12, static_cast<uint32_t>(header_size));
  std::memcpy(p + 16, source_epoch_.data(), source_epoch_.size());
  PutLe<uint64_t>(p + 32, sequence_);
  PutLe<uint64_t>(p + 40, created_us_);
  PutLe<uint32_t>(p + 48, record_count_);
  PutLe<uint16_t>(p + 52, static_cast<uint16_t>(streams_.size()));
  PutLe<uint16_t>(p + 54, static_cast<uint16_t>(source_node_.size()));
  std::memcpy(p + kBundleFixedHeaderSize, source_node_.data(), source_node_.size());
  size_t at = kBundleFixedHeaderSize + source_node_.size();
  for (const BundleStreamRange& range : streams_) {
    PutLe<uint16_t>(p + at, static_cast<uint16_t>(range.stream.size()));
    std::memcpy(p + at + 2, range.stream.data(), range.stream.size());
    at += 2 + range.stream.size();
    PutLe<uint64_t>(p + at, range.first_lsn);
    PutLe<uint64_t>(p + at + 8, range.last_lsn);
    at += 16;
  }
  out.reserve(EncodedSize());
  out += records_;
  char checksum[kBundleChecksumSize];
  PutLe<uint32_t>(checksum, crc32c::Mask(crc32c::Value(out)));
  out.append(checksum, sizeof(checksum));
  return out;
}

}  // namespace sluice::oneway
