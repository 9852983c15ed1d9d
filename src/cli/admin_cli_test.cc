// Runs the built `sluice` binary against a live sluiced: status, switch, commit, errors
// and target commands, their exit codes (0 ok, 1 refused/failed, 2 usage, 3 unreachable)
// and their output.

#include <gtest/gtest.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "support/daemon.h"

#ifndef SLUICE_CLI_PATH
#error "SLUICE_CLI_PATH must name the sluice binary"
#endif

namespace sluice::testing {
namespace {

class AdminCliTest : public ::testing::Test {
 protected:
  void StartDaemon(DaemonConfig config = {}) {
    daemon_ = std::make_unique<Daemon>(dir_, config);
    ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  }

  // `sluice ARGS...` with the daemon's address and the admin token in the environment.
  RunResult Sluice(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), SLUICE_CLI_PATH);
    env.try_emplace("SLUICE_ADDRESS", daemon_ ? daemon_->address() : "127.0.0.1:1");
    env.try_emplace("SLUICE_TOKEN", kAdminToken);
    return RunCommand(args, dir_.Sub("cli.out"), env);
  }
  RunResult SluiceIngest(std::vector<std::string> args) {
    return Sluice(std::move(args), {{"SLUICE_TOKEN", kIngestToken}});
  }

  // Waits until the service is active(target) (or isolated, with target "isolated").
  bool WaitState(const std::string& target) {
    v1::StatusResponse s;
    return WaitFor([&] {
      if (!daemon_->Admin(&s).ok()) return false;
      return target == "isolated" ? s.state() == "isolated"
                                  : s.state() == "active" && s.active_target() == target;
    });
  }

  static void ExpectIn(const RunResult& r, const std::vector<std::string>& parts) {
    for (const auto& p : parts) {
      EXPECT_NE(r.output.find(p), std::string::npos) << "'" << p << "' not in:\n" << r.output;
    }
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(AdminCliTest, StatusShowsEveryStreamAndTarget) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_TRUE(WaitState("a"));
  RunResult r = Sluice({"status"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ExpectIn(r, {"node: test\n", "state: active(a) since ", " UTC (",
               "'a' has applied every ordered write up to the switch", "journal:", "TARGET",
               "HEALTH", "RATE", "ETA", "a (active)", "primary", "replica", "  up  ",
               "STREAM", "HEAD", "PRI", "LAG", "LAG BYTES", "OLDEST", "samples", "events",
               "model", "sql", "running"});

  RunResult j = Sluice({"status", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.output;
  auto doc = nlohmann::json::parse(j.output);
  EXPECT_EQ(doc["node_id"], "test");
  EXPECT_EQ(doc["state"], "active");
  EXPECT_EQ(doc["active_target"], "a");
  EXPECT_EQ(doc["targets"].size(), 3u);
  EXPECT_EQ(doc["appliers"].size(), 12u);  // 3 targets x 4 streams
  // The failover fields are in it (always, even when empty or zero).
  for (const char* key : {"state_since_us", "state_reason", "switch_from", "switch_to"}) {
    EXPECT_TRUE(doc.contains(key)) << key << " not in " << j.output;
  }
  EXPECT_FALSE(doc["state_reason"].get<std::string>().empty());
  for (const auto& t : doc["targets"]) {
    for (const char* key : {"health", "health_detail", "health_since_us", "ineligible",
                            "lag_records", "apply_per_s", "eta_s"}) {
      EXPECT_TRUE(t.contains(key)) << key << " not in " << t.dump();
    }
    EXPECT_EQ(t["health"], "up") << t.dump();
    EXPECT_EQ(t["ineligible"], "") << t.dump();
  }

  RunResult w = Sluice({"status", "--watch", "0.05", "--count", "3"});
  EXPECT_EQ(w.exit_code, 0) << w.output;
  size_t n = 0;
  for (size_t at = w.output.find("node: test"); at != std::string::npos;
       at = w.output.find("node: test", at + 1))
    ++n;
  EXPECT_EQ(n, 3u) << w.output;

  // The ingest token lacks the admin role.
  RunResult denied = Sluice({"status"}, {{"SLUICE_TOKEN", kIngestToken}});
  EXPECT_EQ(denied.exit_code, 1) << denied.output;
  ExpectIn(denied, {"PERMISSION_DENIED", "role 'admin'"});
  RunResult wrong = Sluice({"status", "--token", "not-a-token"});
  EXPECT_EQ(wrong.exit_code, 1) << wrong.output;
  ExpectIn(wrong, {"UNAUTHENTICATED"});
}

TEST_F(AdminCliTest, CommitCsvAndJsonLines) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  int64_t now = NowMicros() / 1'000'000 * 1'000'000;
  std::string csv = "point_id,ts,value,quality\n";
  for (int i = 0; i < 250; ++i) csv += fmt::format("{},{},{}.5,0\n", i, now, i);
  csv += "# a comment, then an ISO-8601 time without offset (UTC)\n";
  csv += "1000,2024-05-01 12:00:00,7\n";
  csv += "1001,2024-05-01 12:00:00+00,8\n";  // as PostgreSQL prints it
  WriteFile(dir_.Sub("samples.csv"), csv);
  RunResult r = SluiceIngest({"commit", "--stream", "samples", "--file", dir_.Sub("samples.csv"),
                              "--rows-per-record", "100"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ExpectIn(r, {"committed 252 rows in 3 records to stream samples"});

  WriteFile(
      dir_.Sub("events.jsonl"),
      fmt::format(
          "{{\"events\": {{\"events\": [{{\"tsUs\": \"{}\", \"kind\": \"trip\", \"text\": "
          "\"a\"}}]}}}}\n"
          "{{\"sql\": {{\"text\": \"INSERT INTO point (point_id, name) VALUES (77, 'p77')\"}}}}\n",
          now));
  RunResult j = SluiceIngest({"commit", "--stream", "events", "--file", dir_.Sub("events.jsonl")});
  EXPECT_EQ(j.exit_code, 0) << j.output;
  ExpectIn(j, {"committed 2 records to stream events"});

  daemon_->WaitCaughtUp();
  for (const char* t : {"a", "b", "dr"}) {
    EXPECT_EQ(CountRows(daemon_->db(t), "sample_1s"), 252) << t;
    EXPECT_EQ(CountRows(daemon_->db(t), "event_log", kClientEvents), 1) << t;
    EXPECT_EQ(CountRows(daemon_->db(t), "point"), 1) << t;
  }

  // Bad input: a usage error naming file and line; nothing sent.
  WriteFile(dir_.Sub("bad.csv"), fmt::format("1,{},1\n2,yesterday,2\n", now));
  RunResult bad = SluiceIngest({"commit", "--stream", "samples", "--file", dir_.Sub("bad.csv")});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  ExpectIn(bad, {"bad.csv line 2, column 2 (ts)", "yesterday"});
  // Refused by the service: exit 1 with its message.
  RunResult nostream =
      SluiceIngest({"commit", "--stream", "nosuch", "--file", dir_.Sub("samples.csv")});
  EXPECT_EQ(nostream.exit_code, 1) << nostream.output;
  ExpectIn(nostream, {"NOT_FOUND", "nosuch"});
  WriteFile(dir_.Sub("old.csv"), "1,1990-01-01T00:00:00Z,1\n");
  RunResult old = SluiceIngest({"commit", "--stream", "samples", "--file", dir_.Sub("old.csv")});
  EXPECT_EQ(old.exit_code, 1) << old.output;
  ExpectIn(old, {"INVALID_ARGUMENT", "631152000000000"});
  // The admin token may not commit.
  RunResult role = Sluice({"commit", "--stream", "samples", "--file", dir_.Sub("samples.csv")});
  EXPECT_EQ(role.exit_code, 1) << role.output;
  ExpectIn(role, {"PERMISSION_DENIED", "role 'ingest'"});
}

TEST_F(AdminCliTest, ErrorsListRetryDiscard) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  // The sql stream may hold the first start's switch marker: the two records follow it.
  const uint64_t lsn1 = daemon_->Heads()["sql"] + 1;
  const std::string first = std::to_string(lsn1), second = std::to_string(lsn1 + 1);
  WriteFile(dir_.Sub("bad.jsonl"),
            "{\"sql\": {\"text\": \"INSERT INTO no_such_table VALUES (1)\"}}\n"
            "{\"sql\": {\"text\": \"INSERT INTO also_missing VALUES (2)\"}}\n");
  RunResult c = SluiceIngest({"commit", "--stream", "sql", "--file", dir_.Sub("bad.jsonl")});
  ASSERT_EQ(c.exit_code, 0) << c.output;
  daemon_->WaitCaughtUp();

  RunResult list = Sluice({"errors", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.output;
  ExpectIn(list, {"TARGET", "no_such_table", "also_missing", "open"});
  RunResult json = Sluice({"errors", "list", "--target", "a", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.output;
  auto doc = nlohmann::json::parse(json.output);
  ASSERT_TRUE(doc.is_array()) << json.output;
  ASSERT_EQ(doc.size(), 2u);
  EXPECT_EQ(doc[0]["target"], "a");
  EXPECT_EQ(doc[0]["lsn"], first);  // uint64 in protobuf JSON is a string
  EXPECT_EQ(doc[1]["lsn"], second);
  EXPECT_EQ(doc[0]["state"], "open");

  // Retrying fails again (the table still does not exist): exit 1, the target's message.
  RunResult retry = Sluice({"errors", "retry", "--target", "a", "--lsn", first});
  EXPECT_EQ(retry.exit_code, 1) << retry.output;
  ExpectIn(retry, {"no_such_table"});
  RunResult retry_all = Sluice({"errors", "retry", "--target", "b", "--all"});
  EXPECT_EQ(retry_all.exit_code, 1) << retry_all.output;
  ExpectIn(retry_all, {"retried 0 record(s)", "2 record(s) failed", "LSN " + first, "LSN " + second});

  RunResult discard =
      Sluice({"errors", "discard", "--target", "a", "--stream", "sql", "--lsn", second});
  EXPECT_EQ(discard.exit_code, 0) << discard.output;
  ExpectIn(discard, {"discarded 1 record(s) on target a"});
  RunResult discard_all = Sluice({"errors", "discard", "--target", "a", "--all"});
  EXPECT_EQ(discard_all.exit_code, 0) << discard_all.output;
  RunResult after = Sluice({"errors", "list", "--target", "a"});
  EXPECT_EQ(after.exit_code, 0) << after.output;
  ExpectIn(after, {"no open errors"});
  // No entries: still an array, so a script's loop runs zero times instead of failing.
  RunResult empty_json = Sluice({"errors", "list", "--target", "a", "--json"});
  ASSERT_EQ(empty_json.exit_code, 0) << empty_json.output;
  EXPECT_EQ(nlohmann::json::parse(empty_json.output), nlohmann::json::array()) << empty_json.output;
  RunResult all = Sluice({"errors", "list", "--target", "a", "--all"});
  ExpectIn(all, {"discarded"});

  RunResult none = Sluice({"errors", "discard", "--target", "a", "--lsn", "99"});
  EXPECT_EQ(none.exit_code, 1) << none.output;
  ExpectIn(none, {"NOT_FOUND", "LSN 99"});
  RunResult unknown = Sluice({"errors", "list", "--target", "zz"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  ExpectIn(unknown, {"NOT_FOUND", "'zz'"});
  RunResult usage = Sluice({"errors", "retry", "--target", "a"});
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
  ExpectIn(usage, {"--lsn", "--all"});
}

TEST_F(AdminCliTest, TargetDisableEnable) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_TRUE(WaitState("a"));
  RunResult off = Sluice({"target", "disable", "a"});
  EXPECT_EQ(off.exit_code, 0) << off.output;
  ExpectIn(off, {"target a disabled"});
  // The active target moves to the next primary by priority.
  ASSERT_TRUE(WaitState("b"));
  RunResult st = Sluice({"status"});
  ExpectIn(st, {"state: active(b)", "b (active)", "disabled",
                "a: cannot be active: it is disabled by an operator"});

  WriteFile(dir_.Sub("s.csv"), fmt::format("1,{},1\n2,{},2\n", NowMicros(), NowMicros()));
  ASSERT_EQ(SluiceIngest({"commit", "--stream", "samples", "--file", dir_.Sub("s.csv")}).exit_code,
            0);
  daemon_->WaitCaughtUp();
  EXPECT_EQ(CountRows(daemon_->db("a"), "sample_1s"), 0);
  EXPECT_EQ(CountRows(daemon_->db("b"), "sample_1s"), 2);

  RunResult retry = Sluice({"errors", "retry", "--target", "a", "--all"});
  EXPECT_EQ(retry.exit_code, 1) << retry.output;
  ExpectIn(retry, {"FAILED_PRECONDITION", "disabled"});

  RunResult on = Sluice({"target", "enable", "a"});
  EXPECT_EQ(on.exit_code, 0) << on.output;
  daemon_->WaitCaughtUp();
  EXPECT_EQ(CountRows(daemon_->db("a"), "sample_1s"), 2);

  RunResult unknown = Sluice({"target", "disable", "nosuch"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  ExpectIn(unknown, {"NOT_FOUND", "nosuch", "targets: a, b, dr"});
  RunResult usage = Sluice({"target", "disable"});
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
}

TEST_F(AdminCliTest, SwitchWaitMakesTheTargetActive) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_TRUE(WaitState("a"));
  // Some backlog for the new target to go through.
  WriteFile(dir_.Sub("e.jsonl"),
            fmt::format("{{\"events\": {{\"events\": [{{\"tsUs\": \"{}\", \"kind\": \"trip\"}}]}}}}\n",
                        NowMicros()));
  ASSERT_EQ(SluiceIngest({"commit", "--stream", "events", "--file", dir_.Sub("e.jsonl")}).exit_code,
            0);

  RunResult r = Sluice({"switch", "--to", "b", "--wait", "--timeout", "60s"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ExpectIn(r, {"switching from 'a' to 'b'", "'b' is active (",
               "active(b): 'b' has applied every ordered write up to the switch"});
  RunResult st = Sluice({"status"});
  EXPECT_EQ(st.exit_code, 0) << st.output;
  ExpectIn(st, {"state: active(b) since", "b (active)"});
  RunResult j = Sluice({"status", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.output;
  auto doc = nlohmann::json::parse(j.output);
  EXPECT_EQ(doc["state"], "active");
  EXPECT_EQ(doc["active_target"], "b");

  // Asking for the active target is no error.
  RunResult again = Sluice({"switch", "--to", "b", "--wait"});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  ExpectIn(again, {"'b' is active already", "'b' is active ("});

  // Without --wait: the service's message, at once; then back to a.
  RunResult back = Sluice({"switch", "--to", "a"});
  EXPECT_EQ(back.exit_code, 0) << back.output;
  ExpectIn(back, {"switching from 'b' to 'a'"});
  ASSERT_TRUE(WaitState("a"));

  // Every target recorded the same state changes, and the event committed once.
  daemon_->WaitCaughtUp();
  int64_t changes = CountRows(daemon_->db("a"), "event_log", "kind = 'sluice.state'");
  EXPECT_GE(changes, 5);  // first start (2), to b (2), back to a (2)
  for (const char* t : {"a", "b", "dr"}) {
    EXPECT_EQ(CountRows(daemon_->db(t), "event_log", "kind = 'sluice.state'"), changes) << t;
    EXPECT_EQ(CountRows(daemon_->db(t), "event_log", kClientEvents), 1) << t;
  }
}

TEST_F(AdminCliTest, SwitchRefusals) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_TRUE(WaitState("a"));
  RunResult unknown = Sluice({"switch", "--to", "nosuch", "--wait"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  ExpectIn(unknown, {"sluice switch: Admin.Switch failed: NOT_FOUND", "no target 'nosuch'",
                     "the primaries are a (priority 100), b (priority 90)"});
  RunResult replica = Sluice({"switch", "--to", "dr"});
  EXPECT_EQ(replica.exit_code, 1) << replica.output;
  ExpectIn(replica, {"FAILED_PRECONDITION", "cannot switch to 'dr'", "replica"});
  ASSERT_EQ(Sluice({"target", "disable", "b"}).exit_code, 0);
  RunResult disabled = Sluice({"switch", "--to", "b", "--wait"});
  EXPECT_EQ(disabled.exit_code, 1) << disabled.output;
  ExpectIn(disabled, {"FAILED_PRECONDITION", "disabled"});
  // Nothing changed.
  RunResult st = Sluice({"status"});
  ExpectIn(st, {"state: active(a)", "b: cannot be active: it is disabled by an operator"});

  // Usage errors: exit 2, nothing asked.
  RunResult no_to = Sluice({"switch", "--wait"});
  EXPECT_EQ(no_to.exit_code, 2) << no_to.output;
  ExpectIn(no_to, {"--to"});
  RunResult bad_timeout = Sluice({"switch", "--to", "a", "--wait", "--timeout", "5"});
  EXPECT_EQ(bad_timeout.exit_code, 2) << bad_timeout.output;
  ExpectIn(bad_timeout, {"--timeout"});
  RunResult help = Sluice({"switch", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.output;
  ExpectIn(help, {"--to", "--wait", "--timeout", "Exit codes", "NOT_FOUND"});
  RunResult unreachable = Sluice({"switch", "--to", "b", "--connect-timeout", "1"},
                                 {{"SLUICE_ADDRESS", fmt::format("127.0.0.1:{}", FreePort())}});
  EXPECT_EQ(unreachable.exit_code, 3) << unreachable.output;
}

TEST_F(AdminCliTest, StatusShowsFailoverAndIsolation) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_TRUE(WaitState("a"));
  ASSERT_EQ(Sluice({"target", "disable", "a"}).exit_code, 0);
  ASSERT_TRUE(WaitState("b"));
  ASSERT_EQ(Sluice({"target", "disable", "b"}).exit_code, 0);
  ASSERT_TRUE(WaitState("isolated"));
  RunResult st = Sluice({"status"});
  EXPECT_EQ(st.exit_code, 0) << st.output;
  ExpectIn(st, {"state: isolated (1+N: commits are kept in the journal", "since",
                "primary can serve", "'a' is disabled by an operator",
                "'b' is disabled by an operator", "HEALTH"});
  // Commits go on while isolated: the replica is fed, the primaries fall behind.
  WriteFile(dir_.Sub("s.csv"), fmt::format("1,{},1\n2,{},2\n", NowMicros(), NowMicros()));
  ASSERT_EQ(SluiceIngest({"commit", "--stream", "samples", "--file", dir_.Sub("s.csv")}).exit_code,
            0);
  ASSERT_TRUE(WaitFor([&] { return CountRows(daemon_->db("dr"), "sample_1s") == 2; }));
  // The primaries' lag shows (the service samples it twice a second).
  nlohmann::json doc;
  ASSERT_TRUE(WaitFor([&] {
    RunResult j = Sluice({"status", "--json"});
    if (j.exit_code != 0) return false;
    doc = nlohmann::json::parse(j.output);
    for (const auto& t : doc["targets"]) {
      if (t["name"] != "dr" && std::stoull(t["lag_records"].get<std::string>()) == 0) return false;
    }
    return true;
  })) << doc.dump();
  EXPECT_EQ(doc["state"], "isolated");
  EXPECT_EQ(doc["active_target"], "");
  for (const auto& t : doc["targets"]) {
    if (t["name"] == "dr") continue;
    EXPECT_NE(t["ineligible"].get<std::string>().find("disabled"), std::string::npos) << t.dump();
    EXPECT_EQ(t["eta_s"], -1) << t.dump();  // a disabled target's lag does not shrink
  }
  // A switch to a disabled primary is refused; enabling one ends the isolation.
  RunResult refused = Sluice({"switch", "--to", "a"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  ExpectIn(refused, {"FAILED_PRECONDITION", "disabled"});
  ASSERT_EQ(Sluice({"target", "enable", "b"}).exit_code, 0);
  ASSERT_TRUE(WaitState("b"));
  ASSERT_EQ(Sluice({"target", "enable", "a"}).exit_code, 0);
  daemon_->WaitCaughtUp();
  for (const char* t : {"a", "b", "dr"}) EXPECT_EQ(CountRows(daemon_->db(t), "sample_1s"), 2) << t;
}

// Helpers for the retention tests (issue #9 item 6): small segments, retention every
// 100 ms, and a config file that can leave out the replica 'dr'.
class RetentionCliTest : public AdminCliTest {
 protected:
  static DaemonConfig SmallSegments() {
    DaemonConfig c;
    c.journal = "segment_size = \"64KiB\"\nmax_record_size = \"32KiB\"\nretention_interval = \"100ms\"";
    c.extra = "[limits]\nmax_lob_size = \"16KiB\"\nmax_string_length = 1024\n";
    return c;
  }
  // Removes or restores the [[target]] block of 'dr' in the daemon's config file.
  void ConfigureDr(bool present) {
    const std::string block =
        "[[target]]\nname = \"dr\"\nrole = \"replica\"\ndriver = \"sqlite\"\nconnection = "
        "\"targets/dr.db\"\n";
    std::string text = ReadFile(daemon_->config_path());
    if (original_.empty()) original_ = text;
    if (present) {
      WriteFile(daemon_->config_path(), original_);
      return;
    }
    auto at = original_.find(block);
    ASSERT_NE(at, std::string::npos) << original_;
    WriteFile(daemon_->config_path(), std::string(original_).erase(at, block.size()));
  }
  // About 100 KiB of samples, committed in `batches` records.
  void CommitSamples(int batches) {
    int64_t ts = NowMicros();
    for (int i = 0; i < batches; ++i) {
      v1::CommitRequest c;
      c.set_stream("samples");
      *c.add_records() = SampleRecord(++next_point_ * 1000, 500, ts);
      v1::CommitResponse cr;
      ASSERT_TRUE(daemon_->Commit(c, &cr).ok());
    }
  }
  nlohmann::json StatusJson() {
    RunResult j = Sluice({"status", "--json"});
    EXPECT_EQ(j.exit_code, 0) << j.output;
    return nlohmann::json::parse(j.output, nullptr, /*allow_exceptions=*/false);
  }
  uint64_t FirstLsn(const std::string& stream) {
    v1::StatusResponse s;
    EXPECT_TRUE(daemon_->Admin(&s).ok());
    for (const auto& st : s.streams()) {
      if (st.name() == stream) return st.first_lsn();
    }
    return 0;
  }
  // The cursor entries of `name` in `sluice status --json`.
  static std::vector<nlohmann::json> CursorsOf(const nlohmann::json& doc, const std::string& name) {
    std::vector<nlohmann::json> out;
    if (!doc.is_object() || !doc.contains("cursors")) return out;
    for (const auto& c : doc["cursors"]) {
      if (c.value("name", "") == name) out.push_back(c);
    }
    return out;
  }

  std::string original_;
  int next_point_ = 0;
};

// A target removed from the config leaves its cursors behind. They must not hold the
// journal invisibly: sluiced reports them at start, status shows them with what they
// hold, and `sluice target forget NAME` drops them so retention frees the segments.
TEST_F(RetentionCliTest, RemovedTargetsCursorsAreShownAndForgotten) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(SmallSegments()));
  ASSERT_TRUE(WaitState("a"));
  ASSERT_NO_FATAL_FAILURE(CommitSamples(10));
  daemon_->WaitCaughtUp();
  ASSERT_EQ(daemon_->Stop(), 0);

  ASSERT_NO_FATAL_FAILURE(ConfigureDr(false));
  std::filesystem::remove(daemon_->log());
  ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  ASSERT_TRUE(WaitState("a"));
  std::string log = ReadFile(daemon_->log());
  EXPECT_NE(log.find("sluice target forget dr"), std::string::npos) << log;
  ASSERT_NO_FATAL_FAILURE(CommitSamples(30));
  daemon_->WaitCaughtUp();

  // Status shows the removed target's cursor and what it holds.
  nlohmann::json doc = StatusJson();
  auto dr = CursorsOf(doc, "dr");
  EXPECT_EQ(dr.size(), 4u) << doc.dump();  // one per stream
  uint64_t dr_samples_lsn = 0;
  for (const auto& c : dr) {
    EXPECT_FALSE(c["configured"].get<bool>()) << c.dump();
    if (c["stream"] == "samples") {
      dr_samples_lsn = std::stoull(c["lsn"].get<std::string>());
      EXPECT_GT(std::stoull(c["held_bytes"].get<std::string>()), 0u) << c.dump();
    }
  }
  EXPECT_GT(dr_samples_lsn, 0u);
  RunResult text = Sluice({"status"});
  ExpectIn(text, {"CURSOR", "dr", "not configured", "sluice target forget dr"});

  // Only a removed target can be forgotten.
  RunResult configured = Sluice({"target", "forget", "a"});
  EXPECT_EQ(configured.exit_code, 1) << configured.output;
  ExpectIn(configured, {"FAILED_PRECONDITION", "'a'", "configured"});
  RunResult unknown = Sluice({"target", "forget", "nope"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  ExpectIn(unknown, {"NOT_FOUND", "'nope'"});

  RunResult forget = Sluice({"target", "forget", "dr"});
  EXPECT_EQ(forget.exit_code, 0) << forget.output;
  ExpectIn(forget, {"dr", "4 cursor"});
  // Retention goes on past where dr stood; nothing of a or b is lost.
  EXPECT_TRUE(WaitFor([&] { return FirstLsn("samples") > dr_samples_lsn + 1; }, std::chrono::seconds(30)))
      << "first LSN " << FirstLsn("samples") << ", dr stood at " << dr_samples_lsn;
  EXPECT_TRUE(CursorsOf(StatusJson(), "dr").empty());
  EXPECT_EQ(ReadFile(dir_.Sub("data/state/cursors.json")).find("\"dr\""), std::string::npos);
  ASSERT_NO_FATAL_FAILURE(CommitSamples(1));
  daemon_->WaitCaughtUp();
  for (const char* t : {"a", "b"}) EXPECT_EQ(CountRows(daemon_->db(t), "sample_1s"), 41 * 500) << t;
}

// A target added after retention deleted the start of a stream cannot be fed from the
// journal (it needs a resync); its cursor must not stop retention on that stream.
TEST_F(RetentionCliTest, NewTargetWhoseRecordsAreGoneDoesNotStopRetention) {
  daemon_ = std::make_unique<Daemon>(dir_, SmallSegments());
  ASSERT_NO_FATAL_FAILURE(ConfigureDr(false));
  ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  ASSERT_TRUE(WaitState("a"));
  ASSERT_NO_FATAL_FAILURE(CommitSamples(20));
  daemon_->WaitCaughtUp();
  ASSERT_TRUE(WaitFor([&] { return FirstLsn("samples") > 1; }, std::chrono::seconds(30)));
  ASSERT_EQ(daemon_->Stop(), 0);

  ASSERT_NO_FATAL_FAILURE(ConfigureDr(true));
  ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  ASSERT_TRUE(WaitState("a"));
  const uint64_t first = FirstLsn("samples");
  ASSERT_NO_FATAL_FAILURE(CommitSamples(30));
  EXPECT_TRUE(WaitFor([&] { return FirstLsn("samples") > first + 10; }, std::chrono::seconds(30)))
      << "retention stopped at LSN " << FirstLsn("samples") << " of samples";
  nlohmann::json doc = StatusJson();
  for (const auto& a : doc["appliers"]) {
    if (a["target"] == "dr" && a["stream"] == "samples") {
      EXPECT_EQ(a["state"], "needs resync") << a.dump();
    }
  }
  for (const auto& c : CursorsOf(doc, "dr")) {
    if (c["stream"] == "samples") {
      EXPECT_TRUE(c["needs_resync"].get<bool>()) << c.dump();
    }
  }
  for (const char* t : {"a", "b"}) {
    EXPECT_TRUE(WaitFor([&] { return CountRows(daemon_->db(t), "sample_1s") == 50 * 500; })) << t;
  }
}

TEST_F(AdminCliTest, UnreachableServiceIsExitCode3) {
  RunResult r = Sluice({"status", "--connect-timeout", "1"},
                       {{"SLUICE_ADDRESS", fmt::format("127.0.0.1:{}", FreePort())}});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  ExpectIn(r, {"cannot reach sluiced at 127.0.0.1:"});
  RunResult flag =
      Sluice({"--address", "127.0.0.1:1", "--connect-timeout", "1", "target", "enable", "a"});
  EXPECT_EQ(flag.exit_code, 3) << flag.output;
  ExpectIn(flag, {"127.0.0.1:1"});
}

TEST_F(AdminCliTest, HelpDocumentsExitCodes) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"--help"}, {"status", "--help"}, {"commit", "--help"}, {"errors", "retry", "--help"},
           {"switch", "--help"}}) {
    RunResult r = Sluice(args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    ExpectIn(r, {"Exit codes", "3"});
  }
  RunResult bad = Sluice({"status", "--no-such-flag"});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
}

TEST_F(AdminCliTest, TlsWithTheServiceCertificate) {
  // A self-signed certificate for 127.0.0.1.
  std::string cert = dir_.Sub("cert.pem"), key = dir_.Sub("key.pem");
  RunResult gen = RunCommand(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out",
       cert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
      dir_.Sub("openssl.out"));
  if (gen.exit_code != 0) GTEST_SKIP() << "openssl cannot make a certificate: " << gen.output;
  DaemonConfig config;
  config.extra = fmt::format("[tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n", cert, key);
  config.tls_ca = cert;
  ASSERT_NO_FATAL_FAILURE(StartDaemon(config));
  RunResult ok = Sluice({"status", "--tls-ca", cert});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  ExpectIn(ok, {"node: test", "state: "});
  // Plain text against a TLS service cannot connect.
  RunResult plain = Sluice({"status", "--connect-timeout", "1"});
  EXPECT_EQ(plain.exit_code, 3) << plain.output;
}

}  // namespace
}  // namespace sluice::testing
