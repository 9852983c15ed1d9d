// What `sluice status` and `sluice switch --wait` make of made-up status answers: the
// state line (since when, why), health and catch-up per target, and the verdict on a
// switch (done, under way, gone elsewhere).

#include "cli/status_view.h"

#include <gtest/gtest.h>

namespace sluice::cli {
namespace {

// 2024-05-01T12:00:01.234Z
constexpr int64_t kT0 = 1714564801'234000;

v1::StatusResponse Answer(const std::string& state) {
  v1::StatusResponse s;
  s.set_node_id("n1");
  s.set_state(state);
  s.set_state_since_us(kT0);
  auto add = [&](const std::string& name, const std::string& role, int priority) {
    auto* t = s.add_targets();
    t->set_name(name);
    t->set_role(role);
    t->set_priority(priority);
    t->set_dialect("postgres");
    t->set_enabled(true);
    t->set_state("running");
    t->set_health("up");
    t->set_eta_s(0);
    return t;
  };
  add("pg-a", "primary", 100);
  add("pg-b", "primary", 90);
  add("pg-dr", "replica", 0);
  return s;
}

v1::TargetStatus* Target(v1::StatusResponse* s, const std::string& name) {
  for (auto& t : *s->mutable_targets()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

void ExpectIn(const std::string& text, const std::vector<std::string>& parts) {
  for (const auto& p : parts) {
    EXPECT_NE(text.find(p), std::string::npos) << "'" << p << "' not in:\n" << text;
  }
}

// The line of `text` that contains `part` ("" when none does).
std::string LineWith(const std::string& text, const std::string& part) {
  size_t at = text.find(part);
  if (at == std::string::npos) return "";
  size_t begin = text.rfind('\n', at);
  begin = begin == std::string::npos ? 0 : begin + 1;
  return text.substr(begin, text.find('\n', at) - begin);
}

// A busy service: switching with a long reason, four streams by priority, three targets
// (one down, one lagging on two streams, one blocked with rejected records), sampling,
// and cursors of a removed target.
v1::StatusResponse Busy() {
  v1::StatusResponse s = Answer("switching");
  s.set_switch_from("pg-a");
  s.set_switch_to("pg-b");
  s.set_state_reason(
      "'pg-a' is down: could not connect to server: Connection refused; is the server running on "
      "host \"pg-a.example\" and accepting TCP/IP connections on port 5432?");
  s.set_journal_bytes(3ull << 30);
  s.set_journal_budget_bytes(64ull << 30);
  s.set_free_bytes(200ull << 30);
  s.mutable_sampling()->set_max_points(100000);
  s.mutable_sampling()->set_points(99999);
  s.mutable_sampling()->set_catalog_points(99999);
  s.mutable_sampling()->set_definitions(99999);
  s.mutable_sampling()->set_cycles(123456789);
  int priority = 30;
  for (const char* name : {"model", "events", "sql", "samples"}) {
    auto* st = s.add_streams();
    st->set_name(name);
    st->set_priority(priority);
    priority -= 10;
    st->set_ordered(std::string(name) != "samples");
    st->set_first_lsn(1);
    st->set_head_lsn(123'456'789);
    st->set_bytes(3ull << 30);
    for (const auto& t : s.targets()) {
      auto* a = s.add_appliers();
      a->set_target(t.name());
      a->set_stream(name);
      a->set_state("running");
      a->set_applied_lsn(123'456'789);
    }
  }
  Target(&s, "pg-a")->set_health("down");
  Target(&s, "pg-a")->set_health_since_us(kT0 - 7'200'000'000);
  Target(&s, "pg-a")->set_health_detail("could not connect to server: Connection refused");
  Target(&s, "pg-a")->set_lag_records(12'345'678);
  Target(&s, "pg-a")->set_eta_s(-1);
  for (auto& a : *s.mutable_appliers()) {
    if (a.target() == "pg-a") {
      a.set_state("down");
      a.set_lag_records(1'234'567);
      a.set_lag_bytes(987ull << 20);
      a.set_oldest_unapplied_us(kT0 - 7'200'000'000);
      a.set_oldest_unapplied_age_us(7'200'000'000);
      a.set_eta_s(-1);
      a.set_last_error("could not connect to server: Connection refused");
    }
    if (a.target() == "pg-dr" && a.stream() == "sql") {
      a.set_state("blocked");
      a.set_rejected(3);
      a.set_lag_records(17);
      a.set_eta_s(-1);
      a.set_last_error("ERROR: duplicate key value violates unique constraint \"point_pkey\"");
    }
  }
  for (const char* stream : {"model", "samples"}) {
    auto* c = s.add_cursors();
    c->set_stream(stream);
    c->set_name("old-replica-in-building-b");
    c->set_lsn(12'345);
    c->set_held_bytes(1ull << 30);
  }
  return s;
}

TEST(StatusViewTest, WrapLinesBreaksAfterClausesAndLosesNothing) {
  const std::string text =
      "state: isolated since 12:00:01.234 UTC (2.1s): no primary can serve: 'a' is disabled by an "
      "operator; 'b' is disabled by an operator\nshort line\n";
  std::string wrapped = WrapLines(text, 60);
  std::vector<std::string> lines;
  for (size_t at = 0; at < wrapped.size();) {
    size_t end = wrapped.find('\n', at);
    lines.push_back(wrapped.substr(at, end - at));
    at = end + 1;
  }
  ASSERT_EQ(lines.size(), 4u) << wrapped;
  for (const auto& l : lines) EXPECT_LE(l.size(), 60u) << l;
  EXPECT_EQ(lines[0], "state: isolated since 12:00:01.234 UTC (2.1s):");
  EXPECT_EQ(lines[1], "  no primary can serve: 'a' is disabled by an operator;");
  EXPECT_EQ(lines[2], "  'b' is disabled by an operator");
  EXPECT_EQ(lines[3], "short line");
  // Nothing lost: the words are the same, in the same order.
  auto words = [](const std::string& t) {
    std::vector<std::string> w;
    std::string cur;
    for (char c : t + " ") {
      if (c == ' ' || c == '\n') {
        if (!cur.empty()) w.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    return w;
  };
  EXPECT_EQ(words(wrapped), words(text));
  // A word longer than the width stays whole.
  EXPECT_EQ(WrapLines(std::string(30, 'x') + " y", 10), std::string(30, 'x') + "\n  y");
}

TEST(StatusViewTest, BytesAndEtaAreWrittenForPeople) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1024), "1.0 KiB");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(3ull << 20), "3.0 MiB");
  EXPECT_EQ(HumanBytes((5ull << 30) + (512ull << 20)), "5.5 GiB");
  EXPECT_EQ(HumanBytes(2ull << 40), "2.0 TiB");
  EXPECT_EQ(HumanBytes(2048ull << 40), "2048.0 TiB");  // no unit past TiB
  EXPECT_EQ(EtaText(0, -1), "-");                      // nothing waits: no ETA
  EXPECT_EQ(EtaText(10, -1), "not shrinking");
  EXPECT_EQ(EtaText(10, 3.5), "3.5s");
  EXPECT_EQ(EtaText(10, 250), "4min 10s");
}

TEST(StatusViewTest, WaitingPerTargetAndStreamByPriority) {
  v1::StatusResponse s = Busy();
  v1::ApplierStatus* b_samples = nullptr;
  for (auto& a : *s.mutable_appliers()) {
    if (a.target() == "pg-b" && a.stream() == "samples") b_samples = &a;
  }
  ASSERT_NE(b_samples, nullptr);
  b_samples->set_lag_records(4'321);
  b_samples->set_lag_bytes(5ull << 20);
  b_samples->set_oldest_unapplied_us(kT0 - 61'500'000);
  b_samples->set_oldest_unapplied_age_us(61'500'000);
  b_samples->set_apply_per_s(1'200.4);
  b_samples->set_eta_s(3.6);
  const int64_t now = kT0;
  std::string page = RenderStatus(s, now);

  // pg-b's block lists its streams by priority, with what waits on each.
  size_t block = page.find("\npg-b: ");
  ASSERT_NE(block, std::string::npos) << page;
  std::string rest = page.substr(block);
  size_t model = rest.find("\nmodel"), events = rest.find("\nevents"), sql = rest.find("\nsql"),
         samples = rest.find("\nsamples");
  EXPECT_LT(model, events);
  EXPECT_LT(events, sql);
  EXPECT_LT(sql, samples);
  std::string line = LineWith(rest, "samples ");
  std::string oldest = HumanTime(b_samples->oldest_unapplied_us(), now);
  oldest.resize(oldest.size() - 4);  // " UTC": the column header says it
  ExpectIn(line, {"4321", HumanBytes(5ull << 20), oldest, HumanAge(61'500'000), "1200/s", "3.6s"});
  EXPECT_EQ(oldest, "11:58:59.734");  // 61.5 s before 12:00:01.234
  // Its stream priority beside the name.
  EXPECT_EQ(line.rfind("samples  0  ", 0), 0u) << line;

  // pg-a, down, waits without shrinking; the blocked applier of pg-dr says why.
  std::string a_line = LineWith(page.substr(page.find("\npg-a: ")), "model ");
  ExpectIn(a_line, {"1234567", "987.0 MiB", "2h 0min", "0/s", "not shrinking"});
  ExpectIn(page, {"STREAM", "PRI", "LAG", "LAG BYTES", "OLDEST (UTC)", "AGE", "RATE", "ETA",
                  "pg-dr / sql: blocked, 3 rejected: ERROR:",
                  "duplicate key value violates unique constraint \"point_pkey\""});
  // Streams: priority, order, head.
  ExpectIn(LineWith(page, "samples  0"), {"no", "123456789", "3.0 GiB"});
}

TEST(StatusViewTest, PageFitsIn80Columns) {
  v1::StatusResponse s = Busy();
  std::string page = RenderStatus(s, kT0 + 1'000);
  size_t lines = 0;
  for (size_t at = 0; at < page.size(); ++lines) {
    size_t end = page.find('\n', at);
    std::string line = page.substr(at, end - at);
    EXPECT_LE(line.size(), kPageWidth) << "'" << line << "' in\n" << page;
    at = end + 1;
  }
  EXPECT_GT(lines, 30u) << page;  // the busy page was drawn, not cut short
  // The long reason was wrapped, not dropped.
  ExpectIn(page, {"accepting TCP/IP", "old-replica-in-building-b"});
}

TEST(StatusViewTest, TimesAreUtcToTheMillisecondWithTheDateOnlyWhenNotToday) {
  EXPECT_EQ(HumanTime(kT0, kT0 + 2'100'000), "12:00:01.234 UTC");
  EXPECT_EQ(HumanTime(kT0, kT0 + 86'400'000'000), "2024-05-01 12:00:01.234 UTC");
  EXPECT_EQ(HumanAge(2'100'000), "2.1s");
  EXPECT_EQ(HumanAge(250'000), "250ms");
}

TEST(StatusViewTest, StateLineSaysSinceWhenAndWhy) {
  v1::StatusResponse s = Answer("switching");
  s.set_switch_from("pg-a");
  s.set_switch_to("pg-b");
  s.set_state_reason("'pg-a' is down: connection refused");
  EXPECT_EQ(StateLine(s, kT0 + 2'100'000),
            "state: switching(pg-a -> pg-b) since 12:00:01.234 UTC (2.1s): 'pg-a' is down: "
            "connection refused");

  v1::StatusResponse first = Answer("switching");
  first.set_switch_to("pg-a");
  EXPECT_EQ(DescribeState(first), "switching(none -> pg-a)");

  v1::StatusResponse a = Answer("active");
  a.set_active_target("pg-b");
  a.set_state_reason("'pg-b' has applied every ordered write up to the switch");
  EXPECT_EQ(StateLine(a, kT0 + 61'000'000),
            "state: active(pg-b) since 12:00:01.234 UTC (1min 1s): 'pg-b' has applied every "
            "ordered write up to the switch");

  v1::StatusResponse iso = Answer("isolated");
  iso.set_state_reason("no primary can serve: 'pg-a' is down: x; 'pg-b' is disabled by an operator");
  std::string line = StateLine(iso, kT0 + 500'000);
  ExpectIn(line, {"state: isolated (1+N:", "synchronous calls are refused",
                  "since 12:00:01.234 UTC (500ms)", ": no primary can serve: 'pg-a' is down"});
}

TEST(StatusViewTest, TargetsShowHealthAndCatchUp) {
  v1::StatusResponse s = Answer("switching");
  s.set_switch_from("pg-a");
  s.set_switch_to("pg-b");
  s.set_state_reason("'pg-a' is down: connection refused");
  v1::TargetStatus* a = Target(&s, "pg-a");
  a->set_health("down");
  a->set_health_since_us(kT0 - 1'000'000);
  a->set_health_detail("connection refused");
  a->set_ineligible("is down: connection refused");
  a->set_state("down");
  a->set_lag_records(500);
  a->set_eta_s(-1);
  v1::TargetStatus* b = Target(&s, "pg-b");
  b->set_lag_records(12000);
  b->set_apply_per_s(4000.4);
  b->set_eta_s(3.5);
  v1::TargetStatus* dr = Target(&s, "pg-dr");
  dr->set_enabled(false);
  dr->set_state("disabled");
  dr->set_ineligible("");

  std::string out = RenderStatus(s, kT0 + 2'000'000);
  ExpectIn(out, {"node: n1\n", "state: switching(pg-a -> pg-b) since 12:00:01.234 UTC (2.0s)",
                 "TARGET", "HEALTH", "LAG", "RATE", "ETA", "pg-b (taking over)", "down 3.0s",
                 "not shrinking", "12000", "4000/s", "3.5s",
                 "pg-a: down since 12:00:00.234 UTC (3.0s): connection refused"});
  EXPECT_EQ(out.find("(active)"), std::string::npos) << out;

  EXPECT_EQ(CatchUpText(*b), "lag 12000 records, 4000/s, ETA 3.5s");
  EXPECT_EQ(CatchUpText(*a), "lag 500 records, 0/s, not shrinking");
  EXPECT_EQ(CatchUpText(*dr), "caught up");

  // An eligible-looking standby that cannot be active says why.
  v1::StatusResponse act = Answer("active");
  act.set_active_target("pg-a");
  Target(&act, "pg-a")->set_active(true);
  Target(&act, "pg-b")->set_enabled(false);
  Target(&act, "pg-b")->set_ineligible("is disabled by an operator");
  std::string page = RenderStatus(act, kT0);
  ExpectIn(page, {"pg-a (active)", "pg-b: cannot be active: it is disabled by an operator"});
}

TEST(StatusViewTest, JudgeSwitch) {
  v1::StatusResponse s = Answer("switching");
  s.set_switch_from("pg-a");
  s.set_switch_to("pg-b");
  Target(&s, "pg-b")->set_lag_records(10);
  Target(&s, "pg-b")->set_apply_per_s(20);
  Target(&s, "pg-b")->set_eta_s(0.5);
  SwitchProgress p = JudgeSwitch(s, "pg-b");
  EXPECT_EQ(p.verdict, SwitchVerdict::kUnderWay);
  EXPECT_EQ(p.message,
            "switching(pg-a -> pg-b): 'pg-b' is catching up: lag 10 records, 20/s, ETA 500ms");

  // It went to another target instead.
  p = JudgeSwitch(s, "pg-c");
  EXPECT_EQ(p.verdict, SwitchVerdict::kElsewhere);
  ExpectIn(p.message, {"switching to 'pg-b' instead"});

  v1::StatusResponse done = Answer("active");
  done.set_active_target("pg-b");
  done.set_state_reason("'pg-b' has applied every ordered write up to the switch");
  p = JudgeSwitch(done, "pg-b");
  EXPECT_EQ(p.verdict, SwitchVerdict::kDone);
  EXPECT_EQ(p.message, "active(pg-b): 'pg-b' has applied every ordered write up to the switch");
  p = JudgeSwitch(done, "pg-a");
  EXPECT_EQ(p.verdict, SwitchVerdict::kElsewhere);
  ExpectIn(p.message, {"'pg-b' is active instead"});

  v1::StatusResponse iso = Answer("isolated");
  iso.set_state_reason("no primary can serve: 'pg-b' is down: timeout");
  p = JudgeSwitch(iso, "pg-b");
  EXPECT_EQ(p.verdict, SwitchVerdict::kElsewhere);
  ExpectIn(p.message, {"isolated", "'pg-b' is down: timeout"});

  EXPECT_EQ(JudgeSwitch(Answer("starting"), "pg-b").verdict, SwitchVerdict::kUnderWay);
}

TEST(StatusViewTest, CursorsThatHoldSegmentsAreListedAndRemovedTargetsNamed) {
  v1::StatusResponse s = Answer("active");
  auto cursor = [&](const std::string& stream, const std::string& name, uint64_t held, bool configured) {
    auto* c = s.add_cursors();
    c->set_stream(stream);
    c->set_name(name);
    c->set_lsn(42);
    c->set_held_bytes(held);
    c->set_configured(configured);
  };
  cursor("samples", "pg-a", 0, true);        // caught up: not listed
  cursor("samples", "pg-b", 3 << 20, true);  // lagging: listed
  cursor("events", "old-dr", 0, false);      // removed target: always listed
  cursor("sql", "pg-dr", 0, true);           // detached by its retention budget: listed
  s.mutable_cursors(3)->set_needs_resync(true);
  std::string text = RenderStatus(s, kT0);
  ExpectIn(text, {"cursors holding journal segments:", "CURSOR", "pg-b", "3.0 MiB", "old-dr",
                  "not configured: `sluice target forget old-dr` releases it"});
  EXPECT_EQ(text.find("samples  pg-a"), std::string::npos) << text;
  std::string detached = LineWith(text, "sql      pg-dr");
  ExpectIn(detached, {"0 B", "detached, needs resync"});

  v1::StatusResponse none = Answer("active");
  EXPECT_EQ(RenderStatus(none, kT0).find("cursors holding"), std::string::npos);
}

TEST(StatusViewTest, SamplingLineCountsIssuesAndNamesTheLastOne) {
  v1::StatusResponse s;
  EXPECT_EQ(SamplingLine(s.sampling(), 0), "");  // no sampling part: nothing printed
  auto* sp = s.mutable_sampling();
  sp->set_enabled(true);
  sp->set_points(7);
  sp->set_max_points(100);
  sp->set_catalog_points(9);
  sp->set_definitions(4);
  sp->set_active_definitions(3);
  sp->set_cycles(120);
  sp->set_late(1);
  sp->set_missed(5);
  sp->set_last_issue("sampling 1s: 5 cycle(s) missed");
  sp->set_last_issue_us(1'000'000);
  sp->set_catalog_error("journal gap");
  const std::string line = SamplingLine(*sp, 2'000'000);
  for (std::string_view part : {"7 of 100 points", "9 in the catalog", "4 definitions (3 sampled)", "120 cycles",
                                "1 late", "5 missed", "5 cycle(s) missed", "CATALOG NOT FOLLOWING: journal gap"}) {
    EXPECT_NE(line.find(part), std::string::npos) << line << " lacks " << part;
  }
  EXPECT_NE(RenderStatus(s, 2'000'000).find(WrapLines(line)), std::string::npos);
}

TEST(StatusViewTest, SamplingLineCountsRecallWindowsWhenThereAreAny) {
  v1::SamplingStatus sp;
  sp.set_enabled(true);
  sp.set_max_points(100);
  EXPECT_EQ(SamplingLine(sp, 0).find("recall"), std::string::npos) << "none defined: no line";
  sp.set_recall_definitions(2);
  sp.set_recall_open_events(1);
  sp.set_recall_rows(330);
  sp.set_recall_missed(4);
  sp.set_recall_lost(3);
  sp.set_recall_not_stored(6);
  const std::string line = SamplingLine(sp, 0);
  for (std::string_view part : {"recall: 2 definitions, 1 events open", "330 rows",
                                "4 ticks missed", "3 ticks lost", "6 rows not stored"}) {
    EXPECT_NE(line.find(part), std::string::npos) << line << " lacks " << part;
  }
}

}  // namespace
}  // namespace sluice::cli

namespace sluice::cli {
namespace {

TEST(StatusViewTest, ResyncLinesSayHowFarWhatFailedAndHowToContinue) {
  v1::ResyncProgress p;
  p.set_target("dr");
  p.set_from("a");
  p.set_state("running");
  p.set_table("sample_1s");
  p.set_tables_done(4);
  p.set_tables_total(18);
  p.set_rows_copied(250);
  p.set_rows_total(1000);
  p.set_rows_per_s(50);
  p.set_eta_s(15);
  EXPECT_EQ(ResyncLine(p),
            "resync of dr from a: running [#####...............] 25%, 250 of 1000 rows, table sample_1s "
            "(5 of 18 tables), 50/s, ETA 15.0s");
  p.set_rows_total(-1);
  p.set_eta_s(-1);
  p.set_rows_per_s(0);
  EXPECT_EQ(ResyncLine(p), "resync of dr from a: running, 250 rows, table sample_1s (5 of 18 tables)");

  p.set_state("done");
  p.set_rows_copied(1000);
  p.set_rows_total(1000);
  p.set_started_us(1'000'000);
  p.set_finished_us(3'500'000);
  p.set_resumed(true);
  EXPECT_EQ(ResyncLine(p),
            "resync of dr from a: done [####################] 100%, 1000 of 1000 rows in 2.5s (continued an "
            "interrupted copy)");

  p.set_state("failed");
  p.set_error("unavailable: connection refused");
  EXPECT_EQ(ResyncLine(p), "resync of dr from a: failed: unavailable: connection refused");

  p.set_state("interrupted");
  EXPECT_NE(ResyncLine(p).find("`sluice target resync dr --from a` continues it"), std::string::npos)
      << ResyncLine(p);
}

}  // namespace
}  // namespace sluice::cli
