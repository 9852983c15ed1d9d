#include "export/bundle_decoder.h"

#include <cstring>
#include <limits>
#include <unordered_set>

#include <fmt/format.h>

#include "common/crc32c.h"
#include "common/little_endian.h"

namespace sluice::oneway {
namespace {

// Reads fields front to back, each one only if the bytes left hold it, so that a damaged
// or hostile length can neither read past the end nor size an allocation.
class FieldReader {
 public:
  FieldReader(std::string_view bytes, size_t offset) : bytes_(bytes), offset_(offset) {}

  size_t offset() const { return offset_; }
  size_t left() const { return bytes_.size() - offset_; }

  // False, consuming nothing, when fewer than `n` bytes are left.
  bool Take(size_t n, std::string_view* out) {
    if (n > left()) return false;
    *out = bytes_.substr(offset_, n);
    offset_ += n;
    return true;
  }
  template <typename T>
  bool TakeLe(T* out) {
    std::string_view field;
    if (!Take(sizeof(T), &field)) return false;
    *out = GetLe<T>(field.data());
    return true;
  }

 private:
  std::string_view bytes_;
  size_t offset_;
};

// Builds the kCorruption errors, all of the form "bundle NAME: [WHERE: ]what".
class Complaint {
 public:
  explicit Complaint(std::string_view name) : name_(name) {}

  template <typename... Args>
  Status operator()(fmt::format_string<Args...> what, Args&&... args) const {
    return Status::Corruption(
        fmt::format("bundle {}: {}", name_, fmt::format(what, std::forward<Args>(args)...)));
  }

 private:
  std::string_view name_;
};

Status CheckMagic(std::string_view bytes, const Complaint& complain) {
  if (bytes.size() < sizeof(kBundleMagic) ||
      std::memcmp(bytes.data(), kBundleMagic, sizeof(kBundleMagic)) != 0) {
    return complain("byte 0: no SLCXBND1 magic (not an export bundle, or its start is damaged)");
  }
  return Status::OK();
}

// Every version ends with this checksum (docs/bundle-format.md, "Versions"), so it is
// checked before the version: a damaged version field then shows as damage, and a
// version named as unsupported is one a sender really wrote. It also comes before any
// length steers the reading, so that a damaged length is reported as damage rather than
// as a misleading structural error. (The structure is still checked in full afterwards:
// a checksum protects against damage, not against a bundle built wrong.)
Status CheckChecksum(std::string_view bytes, const Complaint& complain) {
  if (bytes.size() < kBundleFixedHeaderSize + kBundleChecksumSize) {
    return complain("{} bytes, shorter than the smallest bundle ({} bytes): truncated",
                    bytes.size(), kBundleFixedHeaderSize + kBundleChecksumSize);
  }
  const size_t covered = bytes.size() - kBundleChecksumSize;
  uint32_t stored = crc32c::Unmask(GetLe<uint32_t>(bytes.data() + covered));
  uint32_t computed = crc32c::Value(bytes.data(), covered);
  if (stored != computed) {
    return complain(
        "byte {}: checksum mismatch over bytes 0..{} (stored {:08x}, computed {:08x}): the bundle "
        "is damaged or truncated",
        covered, covered - 1, stored, computed);
  }
  return Status::OK();
}

Status CheckVersion(std::string_view bytes, const Complaint& complain) {
  uint32_t version = GetLe<uint32_t>(bytes.data() + 8);
  if (version != kBundleFormatVersion) {
    return complain("byte 8: format version {} is not supported (this build reads version {})",
                    version, kBundleFormatVersion);
  }
  return Status::OK();
}

Status DecodeHeader(std::string_view bytes, const Complaint& complain, Bundle* bundle,
                    uint32_t* record_count, size_t* header_size) {
  const char* p = bytes.data();
  *header_size = GetLe<uint32_t>(p + 12);
  std::memcpy(bundle->source_epoch.data(), p + 16, bundle->source_epoch.size());
  bundle->sequence = GetLe<uint64_t>(p + 32);
  bundle->created_us = GetLe<uint64_t>(p + 40);
  *record_count = GetLe<uint32_t>(p + 48);
  const uint16_t stream_count = GetLe<uint16_t>(p + 52);
  const uint16_t node_length = GetLe<uint16_t>(p + 54);

  const size_t body_end = bytes.size() - kBundleChecksumSize;
  if (*header_size < kBundleFixedHeaderSize || *header_size > body_end) {
    return complain("byte 12: header size {} is outside {}..{} (the bytes before the checksum)",
                    *header_size, kBundleFixedHeaderSize, body_end);
  }
  if (bundle->sequence == 0) {
    return complain("byte 32: bundle sequence number 0 (numbering starts at 1)");
  }
  FieldReader header(bytes.substr(0, *header_size), kBundleFixedHeaderSize);
  std::string_view node;
  if (node_length == 0 || node_length > kMaxSourceNodeIdLength) {
    return complain("byte 54: source node id length {} is outside 1..{}", node_length,
                    kMaxSourceNodeIdLength);
  }
  if (!header.Take(node_length, &node)) {
    return complain("byte 54: source node id of {} bytes runs past the header's end at byte {}",
                    node_length, *header_size);
  }
  bundle->source_node = std::string(node);

  std::unordered_set<std::string_view> names;
  for (size_t i = 0; i < stream_count; ++i) {
    const size_t at = header.offset();
    uint16_t name_length = 0;
    std::string_view name;
    BundleStreamRange range;
    if (!header.TakeLe(&name_length) || !header.Take(name_length, &name) ||
        !header.TakeLe(&range.first_lsn) || !header.TakeLe(&range.last_lsn)) {
      return complain("stream {} of {} at byte {}: runs past the header's end at byte {}", i,
                      stream_count, at, *header_size);
    }
    if (name_length == 0 || name_length > journal::kMaxStreamNameLength) {
      return complain("stream {} at byte {}: name length {} is outside 1..{}", i, at, name_length,
                      journal::kMaxStreamNameLength);
    }
    if (!names.insert(name).second) {
      return complain("stream {} at byte {}: stream '{}' is listed twice", i, at, name);
    }
    if (range.first_lsn == 0 || range.first_lsn > range.last_lsn) {
      return complain("stream {} '{}' at byte {}: LSN range {}..{} is empty or starts at 0", i,
                      name, at, range.first_lsn, range.last_lsn);
    }
    range.stream = std::string(name);
    bundle->streams.push_back(std::move(range));
  }
  if (header.left() != 0) {
    return complain("byte {}: {} bytes follow the stream list inside the header (header size {})",
                    header.offset(), header.left(), *header_size);
  }
  return Status::OK();
}

// Reads exactly `record_count` records from [header_size, end of records).
Status DecodeRecords(std::string_view bytes, size_t header_size, uint32_t record_count,
                     const Complaint& complain, Bundle* bundle) {
  FieldReader reader(bytes.substr(0, bytes.size() - kBundleChecksumSize), header_size);
  // Per stream in the header: the LSN of its last record so far; 0 for none yet (LSNs
  // start at 1).
  std::vector<journal::Lsn> last_seen(bundle->streams.size(), 0);
  // Never reserve by the count alone: a hostile count must not size an allocation.
  bundle->records.reserve(std::min<size_t>(record_count, reader.left() / kBundleRecordHeaderSize));
  for (uint32_t i = 0; i < record_count; ++i) {
    const size_t at = reader.offset();
    uint16_t stream_index = 0;
    uint16_t type = 0;
    uint32_t length = 0;
    journal::Lsn lsn = 0;
    if (reader.left() == 0) {
      return complain("byte {}: the header counts {} records, the records end after {}", at,
                      record_count, i);
    }
    if (!reader.TakeLe(&stream_index) || !reader.TakeLe(&type) || !reader.TakeLe(&length) ||
        !reader.TakeLe(&lsn)) {
      return complain(
          "record {} at byte {}: its {}-byte header runs past the records' end at byte {}", i, at,
          kBundleRecordHeaderSize, bytes.size() - kBundleChecksumSize);
    }
    if (stream_index >= bundle->streams.size()) {
      return complain("record {} at byte {}: stream index {} is not in the header's {} streams", i,
                      at, stream_index, bundle->streams.size());
    }
    const BundleStreamRange& range = bundle->streams[stream_index];
    if (type == 0) {
      return complain("record {} at byte {}: record type 0 (never a journal record)", i, at);
    }
    std::string_view payload;
    if (length > journal::kMaxPayloadBytes || !reader.Take(length, &payload)) {
      return complain(
          "record {} at byte {}: payload length {} runs past the records' end at byte {}", i, at,
          length, bytes.size() - kBundleChecksumSize);
    }
    journal::Lsn& previous = last_seen[stream_index];
    if (previous != 0 && lsn <= previous) {
      return complain(
          "record {} at byte {}: LSN {} is not above the previous LSN {} of stream '{}'", i, at,
          lsn, previous, range.stream);
    }
    if (lsn < range.first_lsn || lsn > range.last_lsn) {
      return complain(
          "record {} at byte {}: LSN {} of stream '{}' is outside the header's range {}..{}", i, at,
          lsn, range.stream, range.first_lsn, range.last_lsn);
    }
    if (previous == 0 && lsn != range.first_lsn) {
      return complain(
          "record {} at byte {}: the first record of stream '{}' has LSN {}, the header's range "
          "starts at {}",
          i, at, range.stream, lsn, range.first_lsn);
    }
    previous = lsn;
    bundle->records.push_back({range.stream, lsn, type, std::string(payload)});
  }
  if (reader.left() != 0) {
    return complain("byte {}: {} bytes trail the last of the {} records the header counts",
                    reader.offset(), reader.left(), record_count);
  }
  // The ranges are what the receiver's bookkeeping trusts: each must be exactly what the
  // records carry, not only a bound on it.
  for (size_t s = 0; s < last_seen.size(); ++s) {
    const BundleStreamRange& range = bundle->streams[s];
    if (last_seen[s] == 0) {
      return complain("stream '{}' is listed in the header ({}..{}) but has no records",
                      range.stream, range.first_lsn, range.last_lsn);
    }
    if (last_seen[s] != range.last_lsn) {
      return complain("stream '{}': the header's range is {}..{}, its last record has LSN {}",
                      range.stream, range.first_lsn, range.last_lsn, last_seen[s]);
    }
  }
  return Status::OK();
}

}  // namespace

Result<Bundle> DecodeBundle(std::string_view bytes, std::string_view name_for_messages) {
  const Complaint complain(name_for_messages);
  SLUICE_RETURN_IF_ERROR(CheckMagic(bytes, complain));
  SLUICE_RETURN_IF_ERROR(CheckChecksum(bytes, complain));
  SLUICE_RETURN_IF_ERROR(CheckVersion(bytes, complain));
  Bundle bundle;
  uint32_t record_count = 0;
  size_t header_size = 0;
  SLUICE_RETURN_IF_ERROR(DecodeHeader(bytes, complain, &bundle, &record_count, &header_size));
  SLUICE_RETURN_IF_ERROR(DecodeRecords(bytes, header_size, record_count, complain, &bundle));
  return bundle;
}

}  // namespace sluice::oneway
