// record::Validate is the one place a record is held to its shape and to [limits]: each
// refusal is kInvalidArgument and its message names the field, the row and the limit.
#include "record/validate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::record {
namespace {

constexpr int64_t kNow = 1'800'000'000'000'000;  // 2027-01-15, inside the default window

Limits Small() {
  Limits l;
  l.max_rows_per_record = 3;
  l.max_string_length = 8;
  l.max_lob_size = 16;
  return l;
}

v1::Record Samples(int rows, int64_t ts = kNow) {
  v1::Record r;
  auto* s = r.mutable_samples();
  s->set_interval(v1::SAMPLE_INTERVAL_1S);
  for (int i = 0; i < rows; ++i) {
    s->add_point_id(i + 1);
    s->add_ts_us(ts);
    s->add_value(1.0);
    s->add_quality(0);
  }
  return r;
}

// The refusal's code is kInvalidArgument and its message holds every one of `parts`.
void ExpectRefused(const v1::Record& r, const std::vector<std::string>& parts) {
  Status s = Validate(r, Small(), kNow);
  ASSERT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  for (const auto& p : parts) {
    EXPECT_NE(s.message().find(p), std::string::npos) << "'" << p << "' not in: " << s.message();
  }
}

TEST(RecordValidateTest, RecordsWithinTheLimitsPass) {
  EXPECT_TRUE(Validate(Samples(3), Small(), kNow).ok());
  v1::Record e;
  auto* ev = e.mutable_events()->add_events();
  ev->set_ts_us(kNow);
  ev->set_text("8 bytes!");
  EXPECT_TRUE(Validate(e, Small(), kNow).ok());
  v1::Record sql;
  sql.mutable_sql()->set_text("INSERT INTO t VALUES ($1)");
  sql.mutable_sql()->add_params()->set_blob_value(std::string(16, 'x'));
  EXPECT_TRUE(Validate(sql, Small(), kNow).ok());
}

TEST(RecordValidateTest, SampleShapeAndLimitsAreRefusedNamingWhat) {
  ExpectRefused(v1::Record(), {"no body"});
  ExpectRefused(Samples(0), {"no rows"});
  ExpectRefused(Samples(4), {"4 rows", "3"});
  v1::Record ragged = Samples(2);
  ragged.mutable_samples()->add_value(2.0);
  ExpectRefused(ragged, {"differ in length", "value 3"});
  v1::Record no_interval = Samples(1);
  no_interval.mutable_samples()->clear_interval();
  ExpectRefused(no_interval, {"no valid interval"});
  ExpectRefused(Samples(1, /*ts=*/631'152'000'000'000), {"ts_us of row 0", "631152000000000", "window"});
  ExpectRefused(Samples(1, kNow + Small().timestamp_max_ahead_us + 1), {"ts_us of row 0", "ahead"});
}

TEST(RecordValidateTest, StringAndLobLimitsNameTheFieldAndTheKey) {
  v1::Record e;
  e.mutable_events()->add_events()->set_ts_us(kNow);
  auto* second = e.mutable_events()->add_events();
  second->set_ts_us(kNow);
  second->set_source("nine byte");
  ExpectRefused(e, {"event 1 field 'source'", "9 bytes", "limits.max_string_length = 8"});

  v1::Record sql;
  sql.mutable_sql()->set_text("INSERT INTO t VALUES ($1, $2)");
  sql.mutable_sql()->add_params()->set_int_value(1);
  sql.mutable_sql()->add_params()->set_clob_value(std::string(17, 'x'));
  ExpectRefused(sql, {"parameter $2", "CLOB", "17 bytes", "limits.max_lob_size = 16"});
  sql.mutable_sql()->mutable_params(1)->set_text_value("nine byte");
  ExpectRefused(sql, {"parameter $2 (a string)", "limits.max_string_length = 8"});

  // A synchronous write's parameters are held to the same limits.
  v1::Record intent;
  intent.mutable_intent()->set_kind(v1::SyncIntent::KIND_SQL);
  *intent.mutable_intent()->mutable_statement() = sql.sql();
  ExpectRefused(intent, {"parameter $2 (a string)", "limits.max_string_length = 8"});
  intent.mutable_intent()->mutable_statement()->mutable_params(1)->set_blob_value(std::string(17, 'x'));
  ExpectRefused(intent, {"parameter $2", "17 bytes", "limits.max_lob_size = 16"});
  intent.mutable_intent()->mutable_statement()->mutable_params(1)->set_blob_value(std::string(16, 'x'));
  EXPECT_TRUE(Validate(intent, Small(), kNow).ok());
}

TEST(RecordValidateTest, TriggerValuesBeyondTheBurstColumnsAreRefused) {
  v1::Record r;
  auto* t = r.mutable_triggers()->add_samples();
  t->set_occur_time_us(kNow);
  for (int i = 0; i < kMaxTriggerValues; ++i) t->add_float_values(i);
  EXPECT_TRUE(Validate(r, Small(), kNow).ok());
  t->add_float_values(0);
  ExpectRefused(r, {"trigger sample 0", "51 float values", "50 float columns"});
}

// A sample modification intent: corrections and no statement; other kinds the reverse.
TEST(RecordValidateTest, SampleModifyIntentCarriesCorrectionsAndNoStatement) {
  v1::Record r;
  auto* intent = r.mutable_intent();
  intent->set_kind(v1::SyncIntent::KIND_SAMPLE_MODIFY);
  ExpectRefused(r, {"KIND_SAMPLE_MODIFY", "no correction"});
  for (int i = 0; i < 3; ++i) {
    auto* c = intent->add_corrections();
    c->set_interval(v1::SAMPLE_INTERVAL_1MIN);
    c->set_point_id(i + 1);
    c->set_ts_us(kNow);
    c->set_who("op");
    c->set_why("fix");
  }
  intent->mutable_corrections(1)->set_old_value(2.0);
  intent->mutable_corrections(1)->set_old_quality(0);
  EXPECT_TRUE(Validate(r, Small(), kNow).ok()) << Validate(r, Small(), kNow).ToString();

  v1::Record too_many = r;
  too_many.mutable_intent()->add_corrections()->CopyFrom(intent->corrections(0));
  ExpectRefused(too_many, {"4 corrections", "limit of 3"});
  v1::Record with_sql = r;
  with_sql.mutable_intent()->mutable_statement()->set_text("DELETE FROM point");
  ExpectRefused(with_sql, {"KIND_SAMPLE_MODIFY", "statement must be empty"});
  v1::Record no_interval = r;
  no_interval.mutable_intent()->mutable_corrections(2)->clear_interval();
  ExpectRefused(no_interval, {"correction 2", "no valid interval"});
  v1::Record early = r;
  early.mutable_intent()->mutable_corrections(1)->set_ts_us(5);
  ExpectRefused(early, {"ts_us of row 1", "outside the admitted window"});
  v1::Record long_why = r;
  long_why.mutable_intent()->mutable_corrections(0)->set_why("nine byte");
  ExpectRefused(long_why, {"correction 0 field 'why'", "max_string_length = 8"});
  v1::Record half_old = r;
  half_old.mutable_intent()->mutable_corrections(2)->set_old_value(1.0);
  ExpectRefused(half_old, {"correction 2", "old_value but not old_quality"});

  v1::Record sql_intent;
  sql_intent.mutable_intent()->set_kind(v1::SyncIntent::KIND_SQL);
  sql_intent.mutable_intent()->mutable_statement()->set_text("DELETE FROM point");
  EXPECT_TRUE(Validate(sql_intent, Small(), kNow).ok());
  *sql_intent.mutable_intent()->add_corrections() = intent->corrections(0);
  ExpectRefused(sql_intent, {"KIND_SQL", "1 sample corrections", "only KIND_SAMPLE_MODIFY"});
}

}  // namespace
}  // namespace sluice::record
