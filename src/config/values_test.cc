#include "config/values.h"

#include <string>

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// ---------------------------------------------------------------------------------------
// Sizes.

TEST(ParseSizeTest, AcceptsBytesAndUnits) {
  EXPECT_EQ(*ParseSize("0"), 0u);
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_EQ(*ParseSize("10B"), 10u);
  EXPECT_EQ(*ParseSize("1KiB"), 1024u);
  EXPECT_EQ(*ParseSize("64MiB"), 64u << 20);
  EXPECT_EQ(*ParseSize("20GiB"), 20ull << 30);
  EXPECT_EQ(*ParseSize("2TiB"), 2ull << 40);
  EXPECT_EQ(*ParseSize("1KB"), 1000u);
  EXPECT_EQ(*ParseSize("5MB"), 5'000'000u);
  EXPECT_EQ(*ParseSize("20GB"), 20'000'000'000u);
  EXPECT_EQ(*ParseSize("3TB"), 3'000'000'000'000u);
  EXPECT_EQ(*ParseSize("64 MiB"), 64u << 20);
  EXPECT_EQ(*ParseSize(" 1GiB "), 1u << 30);
  EXPECT_EQ(*ParseSize("1.5KiB"), 1536u);
  EXPECT_EQ(*ParseSize("0.5GiB"), 512u << 20);
  EXPECT_EQ(*ParseSize("16383TiB"), 16383ull << 40);
}

TEST(ParseSizeTest, RefusesWithAReason) {
  EXPECT_EQ(ParseSize("").status().message(), "empty size");
  EXPECT_EQ(ParseSize("-1").status().message(), "size \"-1\" is negative");
  EXPECT_EQ(ParseSize("20Gb").status().message(),
            "unknown unit 'Gb' in size \"20Gb\" (did you mean 'GB'?)");
  EXPECT_EQ(ParseSize("64mib").status().message(),
            "unknown unit 'mib' in size \"64mib\" (did you mean 'MiB'?)");
  EXPECT_EQ(ParseSize("3 bananas").status().message(),
            "unknown unit 'bananas' in size \"3 bananas\" (units: B, KiB, MiB, GiB, TiB, and "
            "decimal KB, MB, GB, TB)");
  EXPECT_EQ(ParseSize("1.1KiB").status().message(),
            "size \"1.1KiB\" is not a whole number of bytes");
  EXPECT_EQ(ParseSize("0.5B").status().message(), "size \"0.5B\" is not a whole number of bytes");
  EXPECT_EQ(ParseSize("16777216TiB").status().message(), "size \"16777216TiB\" is too large");
  EXPECT_EQ(*ParseSize("16777215TiB"), 16777215ull << 40);
  EXPECT_EQ(ParseSize("18446744073709551616").status().message(),
            "size \"18446744073709551616\" is too large");
  EXPECT_EQ(ParseSize("MiB").status().message(),
            "size \"MiB\" must be a number of bytes or a number with a unit, such as \"64MiB\"");
  EXPECT_FALSE(ParseSize("1.").ok());
  EXPECT_FALSE(ParseSize("1,5MiB").ok());
  EXPECT_FALSE(ParseSize("1MiB1").ok());
  EXPECT_EQ(ParseSize("1MiB").status().code(), Code::kOk);
  EXPECT_EQ(ParseSize("x").status().code(), Code::kInvalidArgument);
}

TEST(ParseSizeTest, FormatSizeIsExactAndShort) {
  EXPECT_EQ(FormatSize(0), "0");
  EXPECT_EQ(FormatSize(1000), "1KB");
  EXPECT_EQ(FormatSize(1001), "1001B");
  EXPECT_EQ(FormatSize(64u << 20), "64MiB");
  EXPECT_EQ(FormatSize(20'000'000'000), "20GB");
  EXPECT_EQ(FormatSize(1536), "1536B");
  for (uint64_t v : {1ull, 1023ull, 4096ull, 1ull << 30, 5'000'000ull, 123456789ull}) {
    EXPECT_EQ(*ParseSize(FormatSize(v)), v) << FormatSize(v);
  }
}

// ---------------------------------------------------------------------------------------
// Durations.

TEST(ParseDurationTest, AcceptsUnits) {
  EXPECT_EQ(*ParseDuration("0"), microseconds(0));
  EXPECT_EQ(*ParseDuration("250us"), microseconds(250));
  EXPECT_EQ(*ParseDuration("250\xC2\xB5s"), microseconds(250));
  EXPECT_EQ(*ParseDuration("5ms"), milliseconds(5));
  EXPECT_EQ(*ParseDuration("2s"), seconds(2));
  EXPECT_EQ(*ParseDuration("1min"), minutes(1));
  EXPECT_EQ(*ParseDuration("1h"), hours(1));
  EXPECT_EQ(*ParseDuration("30d"), hours(24 * 30));
  EXPECT_EQ(*ParseDuration("1h30min"), minutes(90));
  EXPECT_EQ(*ParseDuration("1h 30min"), minutes(90));
  EXPECT_EQ(*ParseDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(*ParseDuration("0.25ms"), microseconds(250));
  EXPECT_EQ(*ParseDuration("0s"), microseconds(0));
  EXPECT_EQ(*ParseDuration(" 10 s "), seconds(10));
}

TEST(ParseDurationTest, RefusesWithAReason) {
  EXPECT_EQ(ParseDuration("").status().message(), "empty duration");
  EXPECT_EQ(ParseDuration("5").status().message(),
            "duration \"5\" needs a unit (us, ms, s, min, h or d)");
  EXPECT_EQ(ParseDuration("5m").status().message(),
            "unit 'm' in duration \"5m\" is ambiguous: write 'min' for minutes or 'ms' for "
            "milliseconds");
  EXPECT_EQ(ParseDuration("5 fortnights").status().message(),
            "unknown unit 'fortnights' in duration \"5 fortnights\" (units: us, ms, s, min, h, "
            "d)");
  EXPECT_EQ(ParseDuration("-5s").status().message(), "duration \"-5s\" is negative");
  EXPECT_EQ(ParseDuration("0.5us").status().message(),
            "duration \"0.5us\" is finer than a microsecond");
  EXPECT_EQ(ParseDuration("999999999d").status().message(),
            "duration \"999999999d\" is too long");
  EXPECT_EQ(ParseDuration("ms").status().message(),
            "duration \"ms\" must be a number with a unit, such as \"250us\", \"5ms\", \"2s\", "
            "\"1min\", \"1h\" or \"30d\"");
  EXPECT_FALSE(ParseDuration("5ns").ok());
  EXPECT_FALSE(ParseDuration("1h30").ok());
}

TEST(ParseDurationTest, FormatDurationRoundTrips) {
  EXPECT_EQ(FormatDuration(microseconds(0)), "0");
  EXPECT_EQ(FormatDuration(milliseconds(5)), "5ms");
  EXPECT_EQ(FormatDuration(seconds(86400)), "1d");
  EXPECT_EQ(FormatDuration(minutes(90)), "90min");
  EXPECT_EQ(FormatDuration(microseconds(1500)), "1500us");
  for (int64_t us : {1ll, 999ll, 1000ll, 60'000'000ll, 3'600'000'001ll}) {
    EXPECT_EQ(*ParseDuration(FormatDuration(microseconds(us))), microseconds(us));
  }
}

// ---------------------------------------------------------------------------------------
// Timestamps, listen addresses, names.

TEST(ParseTimestampTest, Rfc3339WithOffset) {
  EXPECT_EQ(*ParseTimestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseTimestamp("2000-01-01T00:00:00Z"), 946'684'800'000'000);
  EXPECT_EQ(*ParseTimestamp("2000-01-01T01:00:00+01:00"), 946'684'800'000'000);
  EXPECT_EQ(*ParseTimestamp("1999-12-31T19:00:00-05:00"), 946'684'800'000'000);
  EXPECT_EQ(*ParseTimestamp("2000-01-01 00:00:00.25Z"), 946'684'800'250'000);
  EXPECT_EQ(*ParseTimestamp("2000-01-01T00:00:00.000001z"), 946'684'800'000'001);
  EXPECT_EQ(*ParseTimestamp("2024-02-29T12:00:00Z"), 1'709'208'000'000'000);
  EXPECT_EQ(*ParseTimestamp("1969-12-31T23:59:59Z"), -1'000'000);
  EXPECT_EQ(ParseTimestamp("2000-01-01T00:00:00").status().message(),
            "timestamp \"2000-01-01T00:00:00\" is not RFC 3339 with an offset, such as "
            "\"2000-01-01T00:00:00Z\"");
  EXPECT_EQ(ParseTimestamp("2023-02-29T00:00:00Z").status().message(),
            "timestamp \"2023-02-29T00:00:00Z\" is not a valid date and time");
  EXPECT_EQ(ParseTimestamp("2000-01-01T00:00:00.0000001Z").status().message(),
            "timestamp \"2000-01-01T00:00:00.0000001Z\" is finer than a microsecond");
  EXPECT_FALSE(ParseTimestamp("2000-13-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseTimestamp("2000-01-01T24:00:00Z").ok());
  EXPECT_FALSE(ParseTimestamp("2000-01-01").ok());
  EXPECT_FALSE(ParseTimestamp("2000-01-01T00:00:00Zjunk").ok());
  EXPECT_EQ(FormatTimestamp(946'684'800'000'000), "2000-01-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(946'684'800'250'000), "2000-01-01T00:00:00.250000Z");
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999999Z");
  for (int64_t us : {0ll, -1ll, 1'709'208'000'123'456ll, -86'400'000'000ll * 400}) {
    EXPECT_EQ(*ParseTimestamp(FormatTimestamp(us)), us) << FormatTimestamp(us);
  }
}

TEST(ListenAddressTest, ParsesAndKnowsLoopback) {
  Result<ListenAddress> a = ParseListenAddress("127.0.0.1:7400");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 7400);
  EXPECT_TRUE(a->IsLoopback());
  EXPECT_EQ(a->ToString(), "127.0.0.1:7400");

  Result<ListenAddress> v6 = ParseListenAddress("[::1]:7401");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_TRUE(v6->IsLoopback());
  EXPECT_EQ(v6->ToString(), "[::1]:7401");

  EXPECT_TRUE(ParseListenAddress("localhost:1")->IsLoopback());
  EXPECT_TRUE(ParseListenAddress("127.1.2.3:80")->IsLoopback());
  EXPECT_FALSE(ParseListenAddress("0.0.0.0:7400")->IsLoopback());
  EXPECT_FALSE(ParseListenAddress("[::]:7400")->IsLoopback());
  EXPECT_FALSE(ParseListenAddress("10.0.0.1:7400")->IsLoopback());
  EXPECT_FALSE(ParseListenAddress("127.0.0.1.example.com:7400")->IsLoopback());
  EXPECT_FALSE(ParseListenAddress("1270.0.0.1:7400")->IsLoopback());

  EXPECT_EQ(ParseListenAddress("127.0.0.1").status().message(),
            "address \"127.0.0.1\" needs a port: host:port, e.g. \"127.0.0.1:7400\"");
  EXPECT_EQ(ParseListenAddress("::1:7400").status().message(),
            "address \"::1:7400\": write an IPv6 host in brackets, e.g. \"[::1]:7400\"");
  EXPECT_EQ(ParseListenAddress(":7400").status().message(),
            "address \":7400\" needs a host (0.0.0.0 for every interface)");
  EXPECT_EQ(ParseListenAddress("host:0").status().message(),
            "address \"host:0\": port must be between 1 and 65535");
  EXPECT_EQ(ParseListenAddress("host:70000").status().message(),
            "address \"host:70000\": port must be between 1 and 65535");
  EXPECT_EQ(ParseListenAddress("host:http").status().message(),
            "address \"host:http\" has an invalid port");
  EXPECT_FALSE(ParseListenAddress("ho st:1").ok());
}

TEST(NameTest, Rules) {
  EXPECT_TRUE(IsValidName("pg-a"));
  EXPECT_TRUE(IsValidName("Samples_1.v2"));
  EXPECT_TRUE(IsValidName(std::string(64, 'x')));
  EXPECT_FALSE(IsValidName(std::string(65, 'x')));
  EXPECT_FALSE(IsValidName(""));
  EXPECT_FALSE(IsValidName("."));
  EXPECT_FALSE(IsValidName(".."));
  EXPECT_FALSE(IsValidName("a/b"));
  EXPECT_FALSE(IsValidName("a b"));
  EXPECT_FALSE(IsValidName("数据"));
}

}  // namespace
}  // namespace sluice::config
