// The hydrology feed (hydrology.h): parse errors, the station map, applying an observation
// to the point table, and the 08:00 hydrological day end to end: a station reporting
// hourly over two local days, sampled daily on a DrivenClock, the rows read back from a
// real SQLite target.
#include "sampling/hydrology.h"

#include <chrono>
#include <cstdlib>
#include <mutex>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sampling/sampler.h"
#include "store/backend.h"
#include "support/sqlite_rows.h"
#include "support/temp_dir.h"

namespace sluice::sampling {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kUtc8 = 8 * kHourUs;
const DayRule kHydroDay{kUtc8, 8 * kHourUs};  // China: UTC+8, day starts 08:00 local

// A local civil time as µs since 1970-01-01T00:00 local, computed apart from the code
// under test.
int64_t Civil(int y, unsigned mon, unsigned d, int h, int mi = 0) {
  using namespace std::chrono;
  const sys_days date{year(y) / month(mon) / day(d)};
  return duration_cast<microseconds>(date.time_since_epoch() + hours(h) + minutes(mi)).count();
}

// TT of a local time: yyMMddHHmm.
std::string Tt(int64_t local_us) {
  using namespace std::chrono;
  const sys_time<microseconds> t{microseconds(local_us)};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<minutes>(t - day)};
  return fmt::format("{:02}{:02}{:02}{:02}{:02}", static_cast<int>(ymd.year()) % 100,
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count());
}

std::string Message(const Result<Observation>& r) { return r.ok() ? "(ok)" : r.status().message(); }

TEST(ObservationParseTest, ReadsStationTimeAndElements) {
  auto obs = ParseObservation("ST 0012345678 H TT 2612060800 Z 12.345 Q 678.9 PJ 1.5 PN05 +0 VT 12.6\r\n");
  ASSERT_TRUE(obs.ok()) << obs.status().ToString();
  EXPECT_EQ(obs->station, "0012345678");
  EXPECT_EQ(obs->category, "H");
  EXPECT_EQ(obs->local_time_us, Civil(2026, 12, 6, 8));
  ASSERT_EQ(obs->elements.size(), 5u);
  std::vector<std::string> codes;
  for (const auto& e : obs->elements) codes.push_back(e.code);
  EXPECT_THAT(codes, ElementsAre("Z", "Q", "PJ", "PN05", "VT"));
  EXPECT_EQ(obs->elements[0].value, 12.345);
  EXPECT_EQ(obs->elements[0].token, 6);
  EXPECT_EQ(obs->elements[1].value, 678.9);
  EXPECT_EQ(obs->elements[3].value, 0.0);

  // Without the category; any whitespace between tokens; negative and exponent values.
  obs = ParseObservation("ST\t60105400   TT 0002291259\nZ -1.5 Q 1e3");
  ASSERT_TRUE(obs.ok()) << obs.status().ToString();
  EXPECT_EQ(obs->category, "");
  EXPECT_EQ(obs->local_time_us, Civil(2000, 2, 29, 12, 59));  // a leap day
  EXPECT_EQ(obs->elements[0].value, -1.5);
  EXPECT_EQ(obs->elements[1].value, 1000.0);
}

TEST(ObservationParseTest, EachErrorNamesTokenPositionAndExpectation) {
  struct Case {
    std::string body;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", "the body is empty: expected 'ST' and the station code"},
      {"   \n", "the body is empty"},
      {"TT 2612060800 Z 1", "token 1 'TT' (byte 0): expected 'ST' (the station code comes first)"},
      {"ST", "the body ends after token 1 'ST' (byte 0): expected the station code"},
      {"ST TT 2612060800 Z 1", "token 2 'TT' (byte 3): expected the station code after 'ST'"},
      {"ST 00-12 TT 2612060800 Z 1", "token 2 '00-12' (byte 3): expected the station code"},
      {"ST 0012345678", "the body ends after token 2 '0012345678' (byte 3): expected 'TT' and the "
                        "observation time"},
      // Z after the station code is its category (a gate), so 12.3 is where TT should be.
      {"ST 0012345678 Z 12.3", "token 4 '12.3' (byte 16): expected 'TT' and the observation time"},
      {"ST 0012345678 PJ 12.3", "token 3 'PJ' (byte 14): expected 'TT' and the observation time"},
      {"ST 0012345678 H", "the body ends after token 3 'H' (byte 14): expected 'TT'"},
      {"ST 0012345678 TT", "the body ends after token 3 'TT' (byte 14): expected the observation "
                           "time yyMMddHHmm"},
      {"ST 0012345678 TT 26120608 Z 1", "token 4 '26120608' (byte 17): expected the observation "
                                        "time as 10 digits yyMMddHHmm"},
      {"ST 0012345678 TT 2613060800 Z 1", "token 4 '2613060800' (byte 17): expected an observation "
                                          "time yyMMddHHmm, but it has month 13"},
      {"ST 0012345678 TT 2602290800 Z 1", "but it has day 29 (2026-02 has 28 days)"},
      {"ST 0012345678 TT 2612062400 Z 1", "but it has hour 24"},
      {"ST 0012345678 TT 2612060860 Z 1", "but it has minute 60"},
      {"ST 0012345678 TT 2612060800", "station '0012345678' reports no element"},
      {"ST 0012345678 TT 2612060800 Z", "the body ends after token 5 'Z' (byte 28): expected the "
                                        "value of element 'Z'"},
      {"ST 0012345678 TT 2612060800 Z 12.3 Q", "the body ends after token 7 'Q' (byte 35): expected "
                                               "the value of element 'Q'"},
      {"ST 0012345678 TT 2612060800 Z Q 1", "token 6 'Q' (byte 30): expected a number, the value of "
                                            "element 'Z' (token 5)"},
      {"ST 0012345678 TT 2612060800 Z 12,3", "token 6 '12,3' (byte 30): expected a number"},
      {"ST 0012345678 TT 2612060800 Z nan", "token 6 'nan' (byte 30): expected a number"},
      {"ST 0012345678 TT 2612060800 Z inf", "token 6 'inf' (byte 30): expected a number"},
      {"ST 0012345678 TT 2612060800 Z 0x1p3", "token 6 '0x1p3' (byte 30): expected a number"},
      {"ST 0012345678 TT 2612060800 z 1", "token 5 'z' (byte 28): expected an element identifier "
                                          "([A-Z][A-Z0-9]*, e.g. Z, Q, PJ)"},
      {"ST 0012345678 TT 2612060800 12.3 Z", "token 5 '12.3' (byte 28): expected an element "
                                             "identifier"},
      {"ST 0012345678 TT 2612060800 Z 1 Q 2 Z 3", "token 9 'Z' (byte 36): element 'Z' is given "
                                                  "twice (first at token 5)"},
      {"ST 0012345678 TT 2612060800 Z 1 TT 2612060900", "token 7 'TT' (byte 32): 'TT' was given "
                                                        "already (token 3)"},
      {"ST 0012345678 TT 2612060800 Z 1 ST 1", "token 7 'ST' (byte 32): 'ST' was given already "
                                               "(token 1)"},
      {"ST 0012345678 TT 2612060800 Z\x01 1", "token 5 'Z\\x01' (byte 28): expected an element "
                                              "identifier"},
  };
  for (const Case& c : cases) {
    auto r = ParseObservation(c.body);
    EXPECT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << c.body;
    EXPECT_THAT(Message(r), HasSubstr(c.message)) << c.body;
  }
}

Point HydroPoint(int64_t id, std::string station, std::string element) {
  Point p;
  p.id = id;
  p.name = fmt::format("{}.{}", station, element);
  p.station = std::move(station);
  p.element = std::move(element);
  return p;
}

TEST(StationMapTest, MapsStationAndElementToPoints) {
  Point scada;  // no station, no element: not a hydrology point
  scada.id = 1;
  scada.name = "BUS1.KV";
  auto map = StationMap::Build({scada, HydroPoint(10, "0012345678", "Z"), HydroPoint(11, "0012345678", "Q"),
                                HydroPoint(20, "0099999999", "Z")});
  ASSERT_TRUE(map.ok()) << map.status().ToString();
  EXPECT_EQ(map->size(), 3u);
  EXPECT_EQ(map->Find("0012345678", "Z"), std::optional<int64_t>(10));
  EXPECT_EQ(map->Find("0012345678", "Q"), std::optional<int64_t>(11));
  EXPECT_EQ(map->Find("0099999999", "Z"), std::optional<int64_t>(20));
  EXPECT_EQ(map->Find("0099999999", "Q"), std::nullopt);
  EXPECT_EQ(map->Find("0000000000", "Z"), std::nullopt);
  EXPECT_EQ(map->Find("0012345678", "z"), std::nullopt);  // codes are exact
}

TEST(StationMapTest, RefusesDuplicatesAndHalfMappedPoints) {
  auto dup = StationMap::Build({HydroPoint(10, "0012345678", "Z"), HydroPoint(11, "0012345678", "Q"),
                               HydroPoint(12, "0012345678", "Z")});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(dup.status().message(),
              HasSubstr("station '0012345678' element 'Z' maps to two points: 10 '0012345678.Z' "
                        "and 12 '0012345678.Z'"));

  auto no_element = StationMap::Build({HydroPoint(10, "0012345678", "")});
  ASSERT_FALSE(no_element.ok());
  EXPECT_THAT(no_element.status().message(),
              HasSubstr("point 10 '0012345678.' has station '0012345678' but no element"));
  auto no_station = StationMap::Build({HydroPoint(10, "", "Z")});
  ASSERT_FALSE(no_station.ok());
  EXPECT_THAT(no_station.status().message(), HasSubstr("point 10 '.Z' has element 'Z' but no station"));
}

TEST(ApplyObservationTest, UpdatesMappedPointsAndListsTheRest) {
  auto map = StationMap::Build({HydroPoint(10, "0012345678", "Z"), HydroPoint(11, "0012345678", "Q"),
                                HydroPoint(20, "0099999999", "PJ")});
  ASSERT_TRUE(map.ok());
  PointTable table(100);
  const int64_t now = Civil(2026, 12, 6, 8, 3) - kUtc8 + 17;
  auto r = ApplyObservation("ST 0012345678 H TT 2612060800 Z 12.345 PJ 1.5 Q 678.9 VT 12.6", *map,
                            kHydroDay, &table, now);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const int64_t observed = Civil(2026, 12, 6, 8) - kUtc8;  // 08:00 local = 00:00Z
  EXPECT_EQ(r->station, "0012345678");
  EXPECT_EQ(r->observed_us, observed);
  EXPECT_EQ(observed % kDayUs, 0);
  ASSERT_EQ(r->applied.size(), 2u);
  EXPECT_EQ(r->applied[0].code, "Z");
  EXPECT_EQ(r->applied[0].point_id, 10);
  EXPECT_EQ(r->applied[0].value, 12.345);
  EXPECT_EQ(r->applied[1].code, "Q");
  EXPECT_EQ(r->applied[1].point_id, 11);
  // PJ is mapped at another station only: unmapped here, like VT.
  EXPECT_THAT(r->unmapped, ElementsAre("PJ", "VT"));

  auto z = table.Get(10);
  ASSERT_TRUE(z.has_value());
  EXPECT_EQ(z->value, 12.345);
  EXPECT_EQ(z->quality, static_cast<uint32_t>(v1::QUALITY_GOOD));
  EXPECT_EQ(z->source_us, observed);
  EXPECT_EQ(z->updated_us, now);
  EXPECT_EQ(table.Get(11)->value, 678.9);
  EXPECT_FALSE(table.Get(20).has_value());
  EXPECT_EQ(table.size(), 2u);

  // A negative offset: 08:00 at UTC-05:00 is 13:00Z.
  auto west = ApplyObservation("ST 0012345678 TT 2612060800 Z 1", *map, DayRule{-5 * kHourUs, 0},
                               &table, now);
  ASSERT_TRUE(west.ok());
  EXPECT_EQ(west->observed_us, Civil(2026, 12, 6, 13));

  // A parse error applies nothing.
  auto bad = ApplyObservation("ST 0012345678 TT 2612060900 Z 99 Q x", *map, kHydroDay, &table, now);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("token 8 'x'"));
  EXPECT_EQ(table.Get(10)->value, 1);

  // An invalid day rule is refused.
  auto rule = ApplyObservation("ST 0012345678 TT 2612060800 Z 1", *map, DayRule{15 * kHourUs, 0},
                               &table, now);
  EXPECT_EQ(rule.status().code(), Code::kInvalidArgument);
}

TEST(ApplyObservationTest, ARefusedPointIsReportedWithWhatWasApplied) {
  auto map = StationMap::Build({HydroPoint(10, "0012345678", "Z"), HydroPoint(11, "0012345678", "Q")});
  ASSERT_TRUE(map.ok());
  PointTable table(1);  // room for one point only
  auto r = ApplyObservation("ST 0012345678 TT 2612060800 Z 1.5 Q 2.5 VT 12", *map, kHydroDay, &table, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
  EXPECT_THAT(r.status().message(), HasSubstr("station '0012345678' observation at"));
  EXPECT_THAT(r.status().message(), HasSubstr("refused Q (point 11): "));
  EXPECT_THAT(r.status().message(), HasSubstr("applied Z (point 10); unmapped VT"));
  EXPECT_EQ(table.Get(10)->value, 1.5);
  EXPECT_FALSE(table.Get(11).has_value());
}

// The issue's example: a station reports Z (and Q) hourly over two local days at UTC+8;
// the sampler at 1 day with the 08:00 hydrological day writes its rows at 00:00Z (08:00
// local) with the values current at those moments, and they land in sample_1d.
TEST(HydrologyDayTest, HourlyReportsSampledAtTheHydrologicalDay) {
  constexpr int64_t kArrivalDelay = 2 * kMinuteUs;  // a report reaches the centre 2 min late
  const std::string kStation = "0012345678";
  auto map = StationMap::Build({HydroPoint(10, kStation, "Z"), HydroPoint(11, kStation, "Q")});
  ASSERT_TRUE(map.ok());

  const int64_t start_local = Civil(2026, 12, 6, 8, 30);
  DrivenClock clock(start_local - kUtc8);
  PointTable table(100);

  std::mutex mu;
  std::vector<v1::Record> records;
  std::vector<CycleIssue> issues;
  SamplerOptions options;
  options.day_rule = kHydroDay;
  Sampler sampler(
      &clock, &table, options,
      [&](const v1::Record& r) {
        std::lock_guard lock(mu);
        records.push_back(r);
        return Status::OK();
      },
      [&](const CycleIssue& i) {
        std::lock_guard lock(mu);
        issues.push_back(i);
      });
  ASSERT_TRUE(sampler.SetDefinitions({{10, v1::SAMPLE_INTERVAL_1D}, {11, v1::SAMPLE_INTERVAL_1D}}).ok());
  ASSERT_TRUE(sampler.Start().ok());
  clock.AwaitIdleWaiter();

  auto z_at = [](int h) { return 100.0 + h * 0.25; };
  auto q_at = [](int h) { return 500.0 + h * 0.5; };
  struct Applied {
    int64_t arrival_us;
    double z, q;
  };
  std::vector<Applied> history;
  // Hourly reports from 09:00 local on the first day to 09:00 on the third: two local
  // days, each 08:00 crossed once. The clock stops at every hour (the report's time, which
  // at 08:00 is a day boundary), then at the report's arrival.
  for (int h = 1; h <= 49; ++h) {
    const int64_t tt_local = Civil(2026, 12, 6, 8) + h * kHourUs;
    const int64_t tt_utc = tt_local - kUtc8;
    clock.Set(tt_utc);
    clock.AwaitIdleWaiter();
    clock.Set(tt_utc + kArrivalDelay);
    clock.AwaitIdleWaiter();
    const std::string body = fmt::format("ST {} H TT {} Z {} Q {} VT 12.6", kStation, Tt(tt_local),
                                         z_at(h), q_at(h));
    auto r = ApplyObservation(body, *map, kHydroDay, &table, clock.NowUs());
    ASSERT_TRUE(r.ok()) << body << ": " << r.status().ToString();
    EXPECT_EQ(r->observed_us, tt_utc) << body;
    EXPECT_EQ(r->applied.size(), 2u);
    EXPECT_THAT(r->unmapped, ElementsAre("VT"));
    history.push_back({clock.NowUs(), z_at(h), q_at(h)});
  }
  sampler.Stop();

  // The hydrological days that began during the run: 08:00 local of the 7th and the 8th.
  const std::vector<int64_t> day_starts = {Civil(2026, 12, 7, 8) - kUtc8, Civil(2026, 12, 8, 8) - kUtc8};
  std::lock_guard lock(mu);
  EXPECT_TRUE(issues.empty()) << issues.size() << " cycle issue(s), first: " << issues[0].detail;
  ASSERT_EQ(records.size(), day_starts.size());
  // The values current at each day start: the last report that had arrived by then (the
  // 07:00 one; the 08:00 report arrives two minutes after the boundary).
  std::vector<std::vector<std::string>> expected;
  for (size_t d = 0; d < day_starts.size(); ++d) {
    const int64_t b = day_starts[d];
    EXPECT_EQ(b % kDayUs, 0) << "08:00 at UTC+8 is 00:00Z";
    const Applied* current = nullptr;
    for (const Applied& a : history) {
      if (a.arrival_us <= b) current = &a;
    }
    ASSERT_NE(current, nullptr);
    const auto& batch = records[d].samples();
    EXPECT_EQ(batch.interval(), v1::SAMPLE_INTERVAL_1D);
    ASSERT_EQ(batch.point_id_size(), 2);
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(batch.ts_us(i), b);
      EXPECT_EQ(batch.quality(i), static_cast<uint32_t>(v1::QUALITY_GOOD));
    }
    EXPECT_EQ(batch.value(0), current->z);
    EXPECT_EQ(batch.value(1), current->q);
    expected.push_back({"10", std::to_string(b), fmt::format("{}", current->z), "0"});
    expected.push_back({"11", std::to_string(b), fmt::format("{}", current->q), "0"});
  }

  // Into a real SQLite target, read back as an operator would.
  sluice::testing::TempDir dir("sluice-hydrology");
  store::BackendOptions backend_options;
  backend_options.name = "hydro";
  backend_options.connection = dir.Sub("hydro.db");
  auto backend = store::NewBackend("sqlite", backend_options);
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  ASSERT_TRUE((*backend)->Connect().ok());
  std::vector<store::ApplyItem> items;
  for (size_t i = 0; i < records.size(); ++i) {
    records[i].set_version(i + 1);
    items.push_back({i + 1, &records[i]});
  }
  Status applied = (*backend)->ApplyBatch({"node-a", "epoch-1", "samples"}, items, {}, items.size());
  ASSERT_TRUE(applied.ok()) << applied.ToString();
  auto rows = sluice::testing::QueryRows(backend_options.connection,
                                 "SELECT point_id, ts, value, quality FROM sample_1d ORDER BY ts, point_id");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), expected.size());
  for (size_t r = 0; r < expected.size(); ++r) {
    EXPECT_EQ((*rows)[r][0], expected[r][0]) << "row " << r;
    EXPECT_EQ((*rows)[r][1], expected[r][1]) << "row " << r;
    EXPECT_EQ(std::strtod((*rows)[r][2].c_str(), nullptr), std::strtod(expected[r][2].c_str(), nullptr))
        << "row " << r << ": " << (*rows)[r][2];
    EXPECT_EQ((*rows)[r][3], expected[r][3]) << "row " << r;
  }
}

}  // namespace
}  // namespace sluice::sampling
