// The bundle format end to end: BundleWriter's bytes read back by DecodeBundle, and every
// kind of damage refused with an error that names the bundle, the problem and the offset.

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/crc32c.h"
#include "common/little_endian.h"
#include "export/bundle_decoder.h"
#include "export/bundle_writer.h"

// The largest single allocation since the last reset: shows that a hostile length never
// sizes one. Replacing the global operator new is how a test binary can see them all.
namespace {
std::atomic<size_t> g_largest_allocation{0};

// Out of line: inlined into the replaced operators, malloc and free would look to GCC's
// -Wmismatched-new-delete like free() of what operator new returned.
[[gnu::noinline]] void* Allocate(size_t size) {
  size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
  while (size > seen && !g_largest_allocation.compare_exchange_weak(seen, size)) {
  }
  return std::malloc(size == 0 ? 1 : size);
}
[[gnu::noinline]] void Release(void* p) { std::free(p); }
}  // namespace

void* operator new(size_t size) {
  if (void* p = Allocate(size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { Release(p); }
void operator delete(void* p, size_t) noexcept { Release(p); }

namespace sluice::oneway {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::string_view kName = "00000000000000000042.slb";

journal::Epoch SampleEpoch() {
  journal::Epoch epoch{};
  for (size_t i = 0; i < epoch.size(); ++i) epoch[i] = static_cast<uint8_t>(0xb0 + i);
  return epoch;
}

// Three records of 'samples' (LSNs 40, 41, 42) and one of 'events' (7), interleaved.
std::string SmallBundle() {
  BundleWriter writer("node-a", SampleEpoch(), 42, 1'700'000'000'000'000);
  EXPECT_TRUE(writer.Add("samples", 40, 1, "s40").ok());
  EXPECT_TRUE(writer.Add("events", 7, 1, "e7").ok());
  EXPECT_TRUE(writer.Add("samples", 41, 1, "s41").ok());
  EXPECT_TRUE(writer.Add("samples", 42, 0x8001, std::string("\0\xff", 2)).ok());
  Result<std::string> bytes = writer.Finish();
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? *bytes : std::string();
}

// ---- leveldb-style damage helpers (db/log_test.cc), for this format.

size_t HeaderSize(const std::string& bytes) { return GetLe<uint32_t>(bytes.data() + 12); }

// The byte offsets of the records of a well-formed bundle.
std::vector<size_t> RecordOffsets(const std::string& bytes) {
  std::vector<size_t> offsets;
  for (size_t at = HeaderSize(bytes); at < bytes.size() - kBundleChecksumSize;
       at += kBundleRecordHeaderSize + GetLe<uint32_t>(bytes.data() + at + 4)) {
    offsets.push_back(at);
  }
  return offsets;
}

template <typename T>
void Put(std::string* bytes, size_t offset, T v) {
  PutLe<T>(bytes->data() + offset, v);
}

// Recomputes the checksum so that only the field a test damaged is wrong.
void FixChecksum(std::string* bytes) {
  const size_t covered = bytes->size() - kBundleChecksumSize;
  Put<uint32_t>(bytes, covered, crc32c::Mask(crc32c::Value(bytes->data(), covered)));
}

// The decoder's error for `bytes`, checked to be a kCorruption naming the bundle.
std::string RefusalOf(const std::string& bytes) {
  Result<Bundle> bundle = DecodeBundle(bytes, kName);
  EXPECT_FALSE(bundle.ok());
  if (bundle.ok()) return "";
  EXPECT_EQ(bundle.status().code(), Code::kCorruption) << bundle.status().ToString();
  EXPECT_THAT(bundle.status().message(),
              StartsWith(std::string("bundle ") + std::string(kName) + ": "));
  return bundle.status().message();
}

TEST(BundleTest, RoundTripsSeveralStreams) {
  BundleWriter writer("node-a", SampleEpoch(), 7, 1'700'000'000'123'456);
  std::vector<BundleRecord> added = {
      {"model", 1, 1, "first"}, {"samples", 100, 1, std::string(1000, 'x')},
      {"events", 5, 1, ""},     {"samples", 101, 0x8002, std::string("\0\1\2", 3)},
      {"model", 9, 1, "ninth"}, {"samples", 250, 1, "after a gap of LSNs"},
  };
  for (const BundleRecord& r : added) {
    ASSERT_TRUE(writer.Add(r.stream, r.lsn, r.type, r.payload).ok());
  }
  EXPECT_EQ(writer.record_count(), added.size());
  Result<std::string> bytes = writer.Finish();
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(bytes->size(), writer.EncodedSize());

  Result<Bundle> bundle = DecodeBundle(*bytes, kName);
  ASSERT_TRUE(bundle.ok()) << bundle.status().ToString();
  EXPECT_EQ(bundle->source_node, "node-a");
  EXPECT_EQ(bundle->source_epoch, SampleEpoch());
  EXPECT_EQ(bundle->sequence, 7u);
  EXPECT_EQ(bundle->created_us, 1'700'000'000'123'456u);
  EXPECT_EQ(bundle->records, added);
  // In the order of each stream's first record.
  std::vector<BundleStreamRange> ranges = {
      {"model", 1, 9}, {"samples", 100, 250}, {"events", 5, 5}};
  EXPECT_EQ(bundle->streams, ranges);
}

// An empty bundle is a heartbeat: with no back channel, it is how an idle source tells
// the receiver which sequence number it is at, so a lost last bundle shows as a gap.
TEST(BundleTest, EmptyBundleIsAllowed) {
  BundleWriter writer("node-a", SampleEpoch(), 3, 5);
  Result<std::string> bytes = writer.Finish();
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(bytes->size(), kBundleFixedHeaderSize + 6 + kBundleChecksumSize);
  Result<Bundle> bundle = DecodeBundle(*bytes, kName);
  ASSERT_TRUE(bundle.ok()) << bundle.status().ToString();
  EXPECT_EQ(bundle->sequence, 3u);
  EXPECT_TRUE(bundle->streams.empty());
  EXPECT_TRUE(bundle->records.empty());
}

TEST(BundleTest, TruncationAtEveryOffsetIsRefused) {
  const std::string bytes = SmallBundle();
  ASSERT_TRUE(DecodeBundle(bytes, kName).ok());
  for (size_t size = 0; size < bytes.size(); ++size) {
    SCOPED_TRACE(size);
    RefusalOf(bytes.substr(0, size));
  }
  EXPECT_THAT(RefusalOf(bytes.substr(0, bytes.size() - 1)),
              HasSubstr("checksum mismatch over bytes 0.."));
}

TEST(BundleTest, FlippedBitAtEveryOffsetIsRefused) {
  const std::string bytes = SmallBundle();
  for (size_t offset = 0; offset < bytes.size(); ++offset) {
    for (int bit = 0; bit < 8; ++bit) {
      SCOPED_TRACE(testing::Message() << "byte " << offset << " bit " << bit);
      std::string damaged = bytes;
      damaged[offset] = static_cast<char>(damaged[offset] ^ (1 << bit));
      RefusalOf(damaged);
    }
  }
}

TEST(BundleTest, WrongMagicIsRefused) {
  std::string bytes = SmallBundle();
  bytes[3] = 'J';
  FixChecksum(&bytes);
  EXPECT_THAT(RefusalOf(bytes), HasSubstr("byte 0: no SLCXBND1 magic"));
  EXPECT_THAT(RefusalOf("not a bundle at all"), HasSubstr("no SLCXBND1 magic"));
}

TEST(BundleTest, LaterVersionIsRefusedNamingIt) {
  std::string bytes = SmallBundle();
  Put<uint32_t>(&bytes, 8, 2);
  // A damaged version field is damage: only a sender writes a matching checksum.
  EXPECT_THAT(RefusalOf(bytes), HasSubstr("checksum mismatch"));
  FixChecksum(&bytes);
  EXPECT_THAT(RefusalOf(bytes),
              HasSubstr("byte 8: format version 2 is not supported (this build reads version 1)"));
}

TEST(BundleTest, LengthsPointingPastTheEndAreRefused) {
  const std::string good = SmallBundle();
  const std::vector<size_t> records = RecordOffsets(good);
  ASSERT_EQ(records.size(), 4u);
  const size_t records_end = good.size() - kBundleChecksumSize;

  std::string bytes = good;  // the last record's payload, one byte too long
  Put<uint32_t>(&bytes, records[3] + 4, static_cast<uint32_t>(records_end - records[3] - 15));
  FixChecksum(&bytes);
  EXPECT_THAT(RefusalOf(bytes),
              HasSubstr(fmt::format(
                  "record 3 at byte {}: payload length 3 runs past the records' end at byte {}",
                  records[3], records_end)));

  bytes = good;  // the header, past the records
  Put<uint32_t>(&bytes, 12, static_cast<uint32_t>(records_end + 1));
  FixChecksum(&bytes);
  EXPECT_THAT(RefusalOf(bytes), HasSubstr("byte 12: header size"));

  bytes = good;  // the source node id, past the header
  Put<uint16_t>(&bytes, 54, 200);
  FixChecksum(&bytes);
  EXPECT_THAT(RefusalOf(bytes), HasSubstr("byte 54: source node id of 200 bytes runs past"));

  bytes = good;  // the first stream's name, past the header
  Put<uint16_t>(&bytes, kBundleFixedHeaderSize + 6, 60);
  FixChecksum(&bytes);
  EXPECT_THAT(RefusalOf(bytes), HasSubstr("stream 0 of 2 at byte 62: runs past the header's end"));
}

// A hostile sender controls every length; none may size an allocation beyond the bytes
// it sent.
TEST(BundleTest, HostileLengthsAllocateNothingLarge) {
  const std::string good = SmallBundle();
  const std::vector<size_t> records = RecordOffsets(good);
  struct Field {
    size_t offset;
    size_t width;
  };
  for (Field field : {Field{records[0] + 4, 4}, Field{12, 4}, Field{48, 4}, Field{52, 2},
                      Field{54, 2}, Field{kBundleFixedHeaderSize + 6, 2}}) {
    SCOPED_TRACE(field.offset);
    std::string bytes = good;
    if (field.width == 4) {
      Put<uint32_t>(&bytes, field.offset, 0xFFFFFFFFu);
    } else {
      Put<uint16_t>(&bytes, field.offset, 0xFFFFu);
    }
    FixChecksum(&bytes);
    g_largest_allocation = 0;
    std::string refusal = RefusalOf(bytes);
    EXPECT_LT(g_largest_allocation.load(), 4096u) << refusal;
  }
}

TEST(BundleTest, LsnsOutOfOrderAreRefused) {
  std::string bytes = SmallBundle();
  const std::vector<size_t> records = RecordOffsets(bytes);
  Put<uint64_t>(&bytes, records[3] + 8, 40);  // samples: 40, 41, then 40 again
  FixChecksum(&bytes);
  EXPECT_THAT(RefusalOf(bytes),
              testing::EndsWith(fmt::format("bundle {}: record 3 at byte {}: LSN 40 is not above "
                                            "the previous LSN 41 of stream 'samples'",
                                            kName, records[3])));
}

TEST(BundleTest, LsnsOutsideTheHeaderRangesAreRefused) {
  const std::string good = SmallBundle();
  const std::vector<size_t> records = RecordOffsets(good);
  // Stream table: "samples" at 62 (u16 + 7 bytes + first + last), "events" after it.
  const size_t samples_first = kBundleFixedHeaderSize + 6 + 2 + 7;

  std::string bytes = good;  // the range ends below the last record
  Put<uint64_t>(&bytes, samples_first + 8, 41);
  FixChecksum(&bytes);
  EXPECT_THAT(
      RefusalOf(bytes),
      HasSubstr(fmt::format(
          "record 3 at byte {}: LSN 42 of stream 'samples' is outside the header's range 40..41",
          records[3])));

  bytes = good;  // the range ends above the last record
  Put<uint64_t>(&bytes, samples_first + 8, 43);
  FixChecksum(&bytes);
  EXPECT_THAT(
      RefusalOf(bytes),
      HasSubstr("stream 'samples': the header's range is 40..43, its last record has LSN 42"));

  bytes = good;  // the range starts below the first record
  Put<uint64_t>(&bytes, samples_first, 39);
  FixChecksum(&bytes);
  EXPECT_THAT(
      RefusalOf(bytes),
      HasSubstr(
          "the first record of stream 'samples' has LSN 40, the header's range starts at 39"));

  bytes = good;  // an empty range
  Put<uint64_t>(&bytes, samples_first, 50);
  FixChecksum(&bytes);
  EXPECT_THAT(RefusalOf(bytes), HasSubstr("LSN range 50..42 is empty or starts at 0"));
}

TEST(BundleTest, RecordCountMismatchIsRefused) {
  const std::string good = SmallBundle();
  const size_t records_end = good.size() - kBundleChecksumSize;
  const std::vector<size_t> records = RecordOffsets(good);

  std::string bytes = good;
  Put<uint32_t>(&bytes, 48, 5);
  FixChecksum(&bytes);
  EXPECT_THAT(RefusalOf(bytes),
              HasSubstr(fmt::format("byte {}: the header counts 5 records, the records end after 4",
                                    records_end)));

  bytes = good;
  Put<uint32_t>(&bytes, 48, 3);
  FixChecksum(&bytes);
  EXPECT_THAT(RefusalOf(bytes),
              HasSubstr(fmt::format("byte {}: {} bytes trail the last of the 3 records", records[3],
                                    records_end - records[3])));
}

TEST(BundleTest, TrailingBytesAreRefused) {
  std::string bytes = SmallBundle();
  const size_t records_end = bytes.size() - kBundleChecksumSize;
  bytes.insert(records_end, "xyz");
  FixChecksum(&bytes);
  EXPECT_THAT(
      RefusalOf(bytes),
      HasSubstr(fmt::format("byte {}: 3 bytes trail the last of the 4 records", records_end)));
  // Bytes after the checksum move it: the checksum no longer matches.
  bytes = SmallBundle() + "x";
  EXPECT_THAT(RefusalOf(bytes), HasSubstr("checksum mismatch"));
}

TEST(BundleTest, BadHeaderFieldsAreRefused) {
  const std::string good = SmallBundle();
  const std::vector<size_t> records = RecordOffsets(good);

  std::string bytes = good;
  Put<uint64_t>(&bytes, 32, 0);
  FixChecksum(&bytes);
  EXPECT_THAT(RefusalOf(bytes), HasSubstr("byte 32: bundle sequence number 0"));

  bytes = good;
  Put<uint16_t>(&bytes, 54, 0);
  FixChecksum(&bytes);
  EXPECT_THAT(RefusalOf(bytes), HasSubstr("byte 54: source node id length 0 is outside 1..255"));

  bytes = good;
  Put<uint16_t>(&bytes, records[1], 2);
  FixChecksum(&bytes);
  EXPECT_THAT(
      RefusalOf(bytes),
      HasSubstr(fmt::format("record 1 at byte {}: stream index 2 is not in the header's 2 streams",
                            records[1])));

  bytes = good;
  Put<uint16_t>(&bytes, records[2] + 2, 0);
  FixChecksum(&bytes);
  EXPECT_THAT(RefusalOf(bytes), HasSubstr("record 2 at byte"));
  EXPECT_THAT(RefusalOf(bytes), HasSubstr("record type 0"));
}

TEST(BundleTest, StreamListedTwiceIsRefused) {
  BundleWriter writer("node-a", SampleEpoch(), 1, 0);
  ASSERT_TRUE(writer.Add("aaaa", 1, 1, "").ok());
  ASSERT_TRUE(writer.Add("bbbb", 1, 1, "").ok());
  Result<std::string> bytes = writer.Finish();
  ASSERT_TRUE(bytes.ok());
  // Stream table: "aaaa" at 62 (u16 + 4 bytes + first + last), "bbbb" after it.
  const size_t second_entry = kBundleFixedHeaderSize + 6 + 2 + 4 + 16;
  bytes->replace(second_entry + 2, 4, "aaaa");
  FixChecksum(&*bytes);
  EXPECT_THAT(
      RefusalOf(*bytes),
      HasSubstr(fmt::format("stream 1 at byte {}: stream 'aaaa' is listed twice", second_entry)));
}

TEST(BundleTest, StreamListedWithoutRecordsIsRefused) {
  std::string bytes = SmallBundle();
  const std::vector<size_t> records = RecordOffsets(bytes);
  bytes.erase(records[1], records[2] - records[1]);  // the only 'events' record
  Put<uint32_t>(&bytes, 48, 3);
  FixChecksum(&bytes);
  EXPECT_THAT(RefusalOf(bytes),
              HasSubstr("stream 'events' is listed in the header (7..7) but has no records"));
}

TEST(BundleTest, WriterRefusesWhatTheDecoderWould) {
  BundleWriter writer("node-a", SampleEpoch(), 1, 0);
  ASSERT_TRUE(writer.Add("samples", 5, 1, "x").ok());
  EXPECT_EQ(writer.Add("samples", 5, 1, "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(writer.Add("samples", 4, 1, "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(writer.Add("samples", 6, 0, "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(writer.Add("other", 0, 1, "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(writer.Add("", 6, 1, "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(writer.Add(std::string(65, 's'), 6, 1, "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(writer.record_count(), 1u);
  Result<std::string> bytes = writer.Finish();
  ASSERT_TRUE(bytes.ok());
  Result<Bundle> bundle = DecodeBundle(*bytes, kName);
  ASSERT_TRUE(bundle.ok()) << bundle.status().ToString();
  EXPECT_EQ(bundle->records.size(), 1u);

  EXPECT_EQ(BundleWriter("node-a", SampleEpoch(), 0, 0).Finish().status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(BundleWriter("", SampleEpoch(), 1, 0).Finish().status().code(), Code::kInvalidArgument);
  EXPECT_EQ(BundleWriter(std::string(256, 'n'), SampleEpoch(), 1, 0).Finish().status().code(),
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::oneway
