// Parts of the PostgreSQL backend that need no server.

#include <gtest/gtest.h>

#include <limits>

#include "store/postgres/copy_writer.h"
#include "store/postgres/node_claim.h"
#include "store/postgres/partitions.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/pg_sql.h"
#include "store/postgres/pg_values.h"

namespace sluice::store::postgres {
namespace {

constexpr int64_t kDay = 86'400'000'000;

TEST(ClassifySqlStateTest, RetryableConditionsOfTheTarget) {
  for (const char* state :
       {"08006", "08001", "57P01", "57P02", "57P03", "40001", "40P01", "53100", "53200", "53300",
        "55P03", "58030", "XX000", "XX001", "57014", "F0000"}) {
    Status st = ClassifySqlState(state, "m");
    EXPECT_FALSE(st.ok()) << state;
    EXPECT_TRUE(st.retryable()) << state << ": " << st.ToString();
  }
  EXPECT_EQ(ClassifySqlState("53100", "disk full").code(), Code::kResourceExhausted);
  EXPECT_EQ(ClassifySqlState("40001", "m").code(), Code::kAborted);
  EXPECT_EQ(ClassifySqlState("08006", "m").code(), Code::kUnavailable);
}

TEST(ClassifySqlStateTest, PermanentErrorsOfTheRecord) {
  for (const char* state :
       {"42601", "42P01", "42703", "42804", "23505", "23503", "23502", "23514", "22P02", "22003",
        "22001", "0A000", "P0001", "25001", "54000", "40002", "21000"}) {
    Status st = ClassifySqlState(state, "m");
    EXPECT_FALSE(st.ok()) << state;
    EXPECT_FALSE(st.retryable()) << state << ": " << st.ToString();
  }
  EXPECT_EQ(ClassifySqlState("23505", "m").code(), Code::kAlreadyExists);
  EXPECT_EQ(ClassifySqlState("22003", "m").code(), Code::kOutOfRange);
  EXPECT_EQ(ClassifySqlState("42601", "m").code(), Code::kInvalidArgument);
  EXPECT_EQ(ClassifySqlState("42601", "the message").message(), "the message");
}

TEST(PartitionsTest, AlignDownIsAFloor) {
  EXPECT_EQ(AlignDown(0, kDay), 0);
  EXPECT_EQ(AlignDown(kDay - 1, kDay), 0);
  EXPECT_EQ(AlignDown(kDay, kDay), kDay);
  EXPECT_EQ(AlignDown(-1, kDay), -kDay);
  EXPECT_EQ(AlignDown(-kDay, kDay), -kDay);
  EXPECT_EQ(AlignDown(kMinTs, kDay), kMinTs);
}

TEST(PartitionsTest, MapCoversAndClipsToGaps) {
  PartitionMap map;
  EXPECT_FALSE(map.Covers(5));
  EXPECT_EQ(map.RangeFor(5, 10), (PartitionRange{0, 10}));
  EXPECT_EQ(map.RangeFor(-5, 10), (PartitionRange{-10, 0}));
  map.Add({0, 10});
  EXPECT_TRUE(map.Covers(0));
  EXPECT_TRUE(map.Covers(9));
  EXPECT_FALSE(map.Covers(10));
  EXPECT_FALSE(map.Covers(-1));
  // Partitions of another span exist: the new one fills the gap only.
  map.Add({14, 30});
  EXPECT_EQ(map.RangeFor(12, 10), (PartitionRange{10, 14}));
  map.Add({35, 45});
  EXPECT_EQ(map.RangeFor(32, 10), (PartitionRange{30, 35}));
  EXPECT_EQ(map.RangeFor(47, 10), (PartitionRange{45, 50}));
  map.Add({50, kMaxTs});
  EXPECT_TRUE(map.Covers(kMaxTs));
  map.set_has_default(true);
  EXPECT_TRUE(map.Covers(-100));
  map.Clear();
  EXPECT_FALSE(map.Covers(5));
  // Extremes never overflow.
  PartitionRange top = map.RangeFor(kMaxTs, kDay);
  EXPECT_TRUE(top.Contains(kMaxTs));
  PartitionRange bottom = map.RangeFor(kMinTs, kDay);
  EXPECT_TRUE(bottom.Contains(kMinTs));
}

TEST(PartitionsTest, NamesFollowTheUtcStart) {
  EXPECT_EQ(PartitionName("sample_1s", 0), "sample_1s_p19700101");
  EXPECT_EQ(PartitionName("sample_1s", 1'706'659'200'000'000), "sample_1s_p20240131");
  EXPECT_EQ(PartitionName("sample_1s", 1'706'659'200'000'000 + 6 * 3'600'000'000LL),
            "sample_1s_p20240131_060000");
  EXPECT_EQ(PartitionName("sample_1s", 1'706'659'200'000'001), "sample_1s_p20240131_000000_000001");
  EXPECT_EQ(PartitionName("sample_1s", -kDay), "sample_1s_p19691231");
  EXPECT_EQ(PartitionName("sample_1s", kMinTs), "sample_1s_pmin");
  EXPECT_LE(PartitionName("sample_30min", 1'706'659'200'000'001).size(), 63u);
}

TEST(PartitionsTest, ParsesServerBounds) {
  bool is_default = false;
  auto r = ParsePartitionBound("FOR VALUES FROM ('100') TO ('200')", &is_default);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, (PartitionRange{100, 200}));
  EXPECT_FALSE(is_default);
  r = ParsePartitionBound("FOR VALUES FROM (MINVALUE) TO ('-5')", &is_default);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, (PartitionRange{kMinTs, -5}));
  r = ParsePartitionBound("FOR VALUES FROM ('5') TO (MAXVALUE)", &is_default);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, (PartitionRange{5, kMaxTs}));
  EXPECT_FALSE(ParsePartitionBound("DEFAULT", &is_default).has_value());
  EXPECT_TRUE(is_default);
  EXPECT_FALSE(ParsePartitionBound("FOR VALUES IN ('1')", &is_default).has_value());
  EXPECT_EQ(PartitionBoundSql({kMinTs, 7}), "FROM (MINVALUE) TO (7)");
  EXPECT_EQ(PartitionBoundSql({-7, kMaxTs}), "FROM (-7) TO (MAXVALUE)");
}

TEST(CopyWriterTest, BinaryLayout) {
  CopyWriter w;
  w.Header();
  EXPECT_EQ(w.size(), 19u);
  EXPECT_EQ(w.buffer().substr(0, 11), std::string("PGCOPY\n\377\r\n\0", 11));
  w.Clear();
  w.SampleRow(1, 2, 1.5, 3, 4, true);
  // 2 + 4 * (4 + 8) + 4 + 8 + 4 + 1
  EXPECT_EQ(w.size(), 2u + 5 * 12 + 5);
  EXPECT_EQ(static_cast<unsigned char>(w.buffer()[1]), 6);
  const std::string one = w.buffer();
  w.Clear();
  w.Row(6);
  w.Int64(1);
  w.Int64(2);
  w.Float8(1.5);
  w.Int64(3);
  w.Int64(4);
  w.Bool(true);
  EXPECT_EQ(w.buffer(), one);
  // NaN is NULL (length -1).
  w.Clear();
  w.SampleRow(1, 2, std::numeric_limits<double>::quiet_NaN(), 3, 4, false);
  EXPECT_EQ(w.size(), 2u + 4 * 12 + 4 + 5);
  w.Clear();
  w.Trailer();
  EXPECT_EQ(w.buffer(), std::string("\xff\xff", 2));
}

TEST(NodeClaimTest, KeysAreStableAndDistinct) {
  EXPECT_EQ(NodeLockKey("node-a"), NodeLockKey("node-a"));
  EXPECT_NE(NodeLockKey("node-a"), NodeLockKey("node-b"));
  EXPECT_EQ(ProcessClaimOwner(), ProcessClaimOwner());
  EXPECT_EQ(ProcessClaimOwner().size(), 16u);
}

TEST(ParseTimestampTest, IsoTextAsPostgresWritesIt) {
  constexpr int64_t kBase = 1'709'251'200'000'000;  // 2024-03-01T00:00:00Z
  EXPECT_EQ(*ParseTimestamp("2024-03-01 00:00:00+00"), kBase);
  EXPECT_EQ(*ParseTimestamp("2024-03-01 00:00:00"), kBase);  // without zone: as UTC
  EXPECT_EQ(*ParseTimestamp("2024-03-01 00:00:00.5+00"), kBase + 500'000);
  EXPECT_EQ(*ParseTimestamp("2024-03-01 00:00:00.000001"), kBase + 1);
  EXPECT_EQ(*ParseTimestamp("2024-03-01 05:30:00+05:30"), kBase);
  EXPECT_EQ(*ParseTimestamp("2024-02-29 23:59:59.123456-00:00:01"), kBase - 876'544 + 1'000'000);
  EXPECT_EQ(*ParseTimestamp("1970-01-01 00:00:00+00"), 0);
  EXPECT_EQ(*ParseTimestamp("1969-12-31 23:59:59.999999+00"), -1);
  EXPECT_EQ(*ParseTimestamp("2000-01-01 00:00:00+00"), 946'684'800'000'000);
  // Year 1 BC is year 0, a leap year: 0000-03-01 is 719,468 days before 1970.
  EXPECT_EQ(*ParseTimestamp("0001-03-01 00:00:00+00 BC"), -719'468 * kDay);
  EXPECT_EQ(*ParseTimestamp("12345-01-01 00:00:00+00"),
            (static_cast<int64_t>(12345 - 1970) * 365 + 2516) * kDay);
  EXPECT_EQ(*ParseTimestamp("infinity"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(*ParseTimestamp("-infinity"), std::numeric_limits<int64_t>::min());
  for (const char* bad :
       {"", "2024-03-01", "2024-03-01T00:00:00", "2024-3-01 00:00:00",
        "2024-03-01 00:00:00.1234567", "2024-03-01 00:00:00+", "2024-13-01 00:00:00",
        "2024-03-01 00:00:00 AD", "02.03.2024 00:00:00", "now"}) {
    auto r = ParseTimestamp(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
    }
  }
  EXPECT_EQ(ParseTimestamp("294277-01-01 00:00:00+00").status().code(), Code::kOutOfRange);
}

TEST(RefusedSqlTest, ReadsMayNameServiceTablesRecordsMayNot) {
  EXPECT_EQ(RefusedStatement("SELECT lsn FROM sluice_watermark"), "");
  EXPECT_NE(RefusedSql("SELECT lsn FROM sluice_watermark"), "");
  for (const char* sql :
       {"COMMIT", " /* x */ begin", "SET x = 1", "(RESET ALL)", "copy t to stdout"}) {
    EXPECT_NE(RefusedStatement(sql), "") << sql;
    EXPECT_NE(RefusedSql(sql), "") << sql;
  }
  EXPECT_EQ(FirstKeyword("-- c\n ((select 1))"), "SELECT");
}

}  // namespace
}  // namespace sluice::store::postgres
