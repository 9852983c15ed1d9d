#include "record/record_codec.h"

#include <random>

#include <gtest/gtest.h>

namespace sluice::record {
namespace {

TEST(Base64Test, RoundTripsEveryLengthAndByte) {
  std::mt19937 rng(7);
  for (size_t len = 0; len < 70; ++len) {
    std::string s(len, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    auto back = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, s) << "length " << len;
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
}

TEST(Base64Test, RefusesDamagedText) {
  EXPECT_FALSE(Base64Decode("Zm9").ok());
  EXPECT_FALSE(Base64Decode("Zm!v").ok());
  EXPECT_FALSE(Base64Decode("Z=9v").ok());
}

TEST(RecordCodecTest, RoundTripAndKinds) {
  v1::Record r;
  r.set_version(42);
  auto* s = r.mutable_samples();
  s->set_interval(v1::SAMPLE_INTERVAL_1MIN);
  s->add_point_id(7);
  s->add_ts_us(1'700'000'000'000'000);
  s->add_value(1.5);
  s->add_quality(0);
  std::string bytes = EncodeRecord(r);
  auto back = DecodeRecord(9, kRecordV1, bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->version(), 42u);
  EXPECT_EQ(RecordKind(*back), "samples");
  EXPECT_NE(RecordToJson(*back).find("\"point_id\""), std::string::npos);
  v1::Record empty;
  EXPECT_EQ(RecordKind(empty), "empty");
}

TEST(RecordCodecTest, BadPayloadAndTypeNameTheLsn) {
  auto bad = DecodeRecord(17, kRecordV1, std::string("\xff\xff\xff\xff\x0f", 5));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("LSN 17"), std::string::npos);
  auto type = DecodeRecord(18, 99, "");
  ASSERT_FALSE(type.ok());
  EXPECT_NE(type.status().message().find("unknown record type 99"), std::string::npos);
}

}  // namespace
}  // namespace sluice::record
