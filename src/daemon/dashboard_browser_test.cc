// The dashboard end to end in headless Chromium (Debian's chromium package): a real
// sluiced with SQLite targets (one disabled, so that it lags; a rejected record in every
// error log) serves web/; the page, loaded with the token in its address fragment and
// left to run, shows the numbers of /api/status fetched by the test just before and just
// after (equal where they stand still, in between where they move); a screenshot of the
// asked size is saved as a PNG. Skipped, saying why, when chromium is not installed or
// cannot run here.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon/dashboard_test_util.h"

namespace sluice::testing {
namespace {

constexpr auto kDeadline = std::chrono::seconds(120);
constexpr int kWidth = 1280;
constexpr int kHeight = 1400;

struct ChromiumRun {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr, for the failure message
};

// Headless chromium on `url` with `args` (its own profile under `dir`); the page runs for
// `budget_ms` of virtual time (timers run fast; network requests are waited for).
ChromiumRun Chromium(const std::string& chromium, const TempDir& dir, const std::string& args,
                     const std::string& url, int budget_ms = 10'000) {
  const std::string out = dir.Sub("chromium.out"), err = dir.Sub("chromium.err");
  const std::string cmd = fmt::format(
      "timeout 300 '{}' --headless --no-sandbox --disable-gpu --no-first-run "
      "--user-data-dir='{}' --virtual-time-budget={} {} '{}' >'{}' 2>'{}'",
      chromium, dir.Sub("profile"), budget_ms, args, url, out, err);
  ChromiumRun r;
  const int rc = std::system(cmd.c_str());
  r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  return r;
}

nlohmann::json FetchStatus(int port) {
  HttpReply r = HttpGet(port, "/api/status", kAdminToken);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.status == 200 ? nlohmann::json::parse(r.body) : nlohmann::json::object();
}

double Num(const nlohmann::json& v) {
  if (v.is_string()) return std::stod(v.get<std::string>());
  return v.is_number() ? v.get<double>() : 0.0;
}

// The part of the DOM between `<table id="ID"` and its `</table>`.
std::string Table(const std::string& dom, const std::string& id) {
  const size_t at = dom.find("<table id=\"" + id + "\"");
  if (at == std::string::npos) return "";
  return dom.substr(at, dom.find("</table>", at) - at);
}

// Rows of a table keyed by `key` ("data-target"): row text by key.
std::map<std::string, std::string> Rows(const std::string& table, const std::string& key) {
  std::map<std::string, std::string> rows;
  std::regex row("<tr " + key + "=\"([^\"]*)\"[^>]*>(.*?)</tr>");
  for (auto it = std::sregex_iterator(table.begin(), table.end(), row);
       it != std::sregex_iterator(); ++it) {
    rows[(*it)[1]] = (*it)[2];
  }
  return rows;
}

// The value of attribute `attr` in `html` ("" when absent).
std::string Attr(const std::string& html, const std::string& attr) {
  std::smatch m;
  if (std::regex_search(html, m, std::regex(attr + "=\"([^\"]*)\""))) return m[1];
  return "";
}

// The data-value of the element with `id`.
std::string ValueOf(const std::string& dom, const std::string& id) {
  std::smatch m;
  std::regex element("<[a-z]+ id=\"" + id + "\"[^>]*>");
  if (!std::regex_search(dom, m, element)) return "";
  return Attr(m[0], "data-value");
}

// `v` lies between the two measures, whichever way the value moved.
void ExpectBetween(double v, double a, double b, const std::string& what) {
  EXPECT_GE(v, std::min(a, b)) << what << ": " << v << " not in [" << a << ", " << b << "]";
  EXPECT_LE(v, std::max(a, b)) << what << ": " << v << " not in [" << a << ", " << b << "]";
}

TEST(DashboardBrowserTest, PageShowsTheStatusNumbersAndAScreenshotIsSaved) {
  const std::string chromium = FindOnPath("chromium");
  if (chromium.empty()) {
    GTEST_SKIP() << "chromium is not on the PATH (Debian package 'chromium', "
                    "scripts/install-deps.sh installs it): the dashboard is not tested in a "
                    "browser here";
  }
  TempDir dir;
  {
    ChromiumRun probe = Chromium(chromium, dir, "--dump-dom", "data:text/html,<p>probe</p>", 100);
    if (probe.exit_code != 0 || probe.out.find("probe") == std::string::npos) {
      GTEST_SKIP() << "chromium cannot run here (exit " << probe.exit_code << "): " << probe.err;
    }
  }
  const int port = FreePort();
  DaemonConfig cfg = DashboardConfig(port);
  cfg.extra += "[alarms]\ninterval = \"100ms\"\n";  // alarms raised before the page looks
  Daemon d(dir, cfg);
  ASSERT_NO_FATAL_FAILURE(d.Start());

  // A point with its last hour of samples, for the trend viewer.
  const int64_t t0 = (NowMicros() / kSecondUs - 3600) * kSecondUs;
  ASSERT_NO_FATAL_FAILURE(PutPointWithAnHour(d, 41, t0));
  // dr taken out: what is journaled now waits for it (a lag the page must show).
  v1::SetTargetEnabledRequest off;
  off.set_target("dr");
  off.set_enabled(false);
  v1::SetTargetEnabledResponse off_resp;
  grpc::Status s = d.admin_stub().SetTargetEnabled(d.Context(kAdminToken).get(), off, &off_resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  for (int i = 0; i < 2; ++i) {  // the second is rejected by a and b: their error logs
    v1::CommitRequest req;
    req.set_stream("sql");
    req.add_records()->mutable_sql()->set_text(
        "INSERT INTO point (point_id, name, unit) VALUES (9, 'p9', 'MW')");
    v1::CommitResponse resp;
    ASSERT_TRUE(d.Commit(req, &resp).ok());
  }
  v1::CommitRequest events;
  events.set_stream("events");
  *events.add_records() = EventRecord(25, NowMicros());
  v1::CommitResponse events_resp;
  ASSERT_TRUE(d.Commit(events, &events_resp).ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        HttpReply r = HttpGet(port, "/api/errors", kAdminToken);
        return r.status == 200 && nlohmann::json::parse(r.body)["errors"].size() == 2;
      },
      kDeadline));
  d.WaitCaughtUp();
  // The error_log alarms of a and b, raised before the page loads (the count it shows is
  // compared with the list after).
  ASSERT_TRUE(WaitFor(
      [&] {
        HttpReply r = HttpGet(port, "/api/alarms", kAdminToken);
        return r.status == 200 && nlohmann::json::parse(r.body)["active"].size() == 2;
      },
      kDeadline))
      << HttpGet(port, "/api/alarms", kAdminToken).body;

  // The apply rates are over a 5 s sliding window and need not move one way between two
  // fetches (they rise while the window fills, and read 0 before the first two samples):
  // wait until they have read zero for longer than the window, the targets idle, so the
  // page's rates are compared with a value that holds.
  std::optional<std::chrono::steady_clock::time_point> zero_since;
  ASSERT_TRUE(WaitFor(
      [&] {
        const nlohmann::json targets = FetchStatus(port).value("targets", nlohmann::json::array());
        const bool zero = !targets.empty() &&
                          std::all_of(targets.begin(), targets.end(), [](const nlohmann::json& t) {
                            return Num(t["apply_per_s"]) == 0;
                          });
        const auto now = std::chrono::steady_clock::now();
        if (!zero) zero_since.reset();
        if (zero && !zero_since) zero_since = now;
        return zero_since && now - *zero_since > std::chrono::seconds(7);
      },
      kDeadline, std::chrono::milliseconds(200)))
      << FetchStatus(port).dump();
  const std::string url = fmt::format("http://127.0.0.1:{}/#token={}", port, kAdminToken);
  const nlohmann::json before = FetchStatus(port);
  ChromiumRun page = Chromium(chromium, dir, "--dump-dom", url);
  const nlohmann::json after = FetchStatus(port);
  ASSERT_EQ(page.exit_code, 0) << page.err;
  const std::string& dom = page.out;
  ASSERT_NE(dom.find("<table id=\"targets\""), std::string::npos) << dom;

  // What stands still on this node: equal.
  EXPECT_EQ(before["state"], "active");
  EXPECT_EQ(ValueOf(dom, "state"), after["state"]) << dom;
  EXPECT_EQ(ValueOf(dom, "active"), after["active_target"]) << dom;
  auto targets = Rows(Table(dom, "targets"), "data-target");
  ASSERT_EQ(targets.size(), after["targets"].size()) << Table(dom, "targets");
  for (size_t i = 0; i < after["targets"].size(); ++i) {
    const auto& t1 = after["targets"][i];
    const auto& t0s = before["targets"][i];
    const std::string name = t1["name"];
    ASSERT_TRUE(targets.count(name)) << name;
    const std::string& row = targets[name];
    EXPECT_EQ(Attr(row, "data-role"), t1["role"]) << name;
    EXPECT_EQ(Attr(row, "data-health"), t1["health"]) << name;
    EXPECT_EQ(Attr(row, "data-state"), t1["state"]) << name;
    // What moves: between the two fetches.
    ExpectBetween(std::stod(Attr(row, "data-lag-records")), Num(t0s["lag_records"]),
                  Num(t1["lag_records"]), name + " lag");
    EXPECT_EQ(std::stod(Attr(row, "data-apply-per-s")), Num(t1["apply_per_s"])) << name;
  }
  // dr is the one that lags, by what was journaled since it was taken out.
  EXPECT_GT(std::stod(Attr(targets["dr"], "data-lag-records")), 0) << targets["dr"];
  auto streams = Rows(Table(dom, "streams"), "data-stream");
  ASSERT_EQ(streams.size(), after["streams"].size());
  for (size_t i = 0; i < after["streams"].size(); ++i) {
    const std::string name = after["streams"][i]["name"];
    ExpectBetween(std::stod(Attr(streams[name], "data-head-lsn")),
                  Num(before["streams"][i]["head_lsn"]), Num(after["streams"][i]["head_lsn"]),
                  name + " head");
  }
  // The error log (a and b rejected the second insert) and the alarms, as the API lists.
  auto errors = nlohmann::json::parse(HttpGet(port, "/api/errors", kAdminToken).body);
  EXPECT_EQ(ValueOf(dom, "error-count"), std::to_string(errors["errors"].size())) << dom;
  EXPECT_EQ(Rows(Table(dom, "errors"), "data-target").size(), errors["errors"].size());
  EXPECT_EQ(std::regex_search(Table(dom, "errors"), std::regex(">retry</button>")), true);
  auto alarms = nlohmann::json::parse(HttpGet(port, "/api/alarms", kAdminToken).body);
  EXPECT_EQ(ValueOf(dom, "alarm-count"), std::to_string(alarms["active"].size())) << dom;
  // Each target's line in both live charts.
  for (const char* chart : {"lag-chart", "rate-chart"}) {
    const size_t at = dom.find(std::string("<svg id=\"") + chart + "\"");
    ASSERT_NE(at, std::string::npos) << chart;
    const std::string svg = dom.substr(at, dom.find("</svg>", at) - at);
    for (const auto& [name, row] : targets) {
      EXPECT_NE(svg.find("data-series=\"" + name + "\""), std::string::npos)
          << chart << " " << name;
    }
  }

  // The trend of point 41 over the last hour, with its limits, in a screenshot.
  const std::string png = dir.Sub("dashboard.png");
  ChromiumRun shot = Chromium(
      chromium, dir,
      fmt::format("--hide-scrollbars --window-size={},{} --screenshot='{}'", kWidth, kHeight, png),
      url + "&point=41&interval=1s&range=3600");
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  const std::string bytes = ReadFile(png);
  ASSERT_GE(bytes.size(), 24u) << "no screenshot at " << png << ": " << shot.err;
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(bytes.substr(12, 4), "IHDR");
  auto be32 = [&](size_t at) {
    return (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at])) << 24) |
           (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 16) |
           (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 2])) << 8) |
           static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 3]));
  };
  EXPECT_EQ(be32(16), static_cast<uint32_t>(kWidth));
  EXPECT_EQ(be32(20), static_cast<uint32_t>(kHeight));
  // Kept where the build can find it (docs/dashboard.png is a copy of one).
  if (const char* keep = std::getenv("SLUICE_DASHBOARD_PNG")) {
    std::filesystem::copy_file(png, keep, std::filesystem::copy_options::overwrite_existing);
  }
  EXPECT_EQ(d.Stop(), 0);
}

}  // namespace
}  // namespace sluice::testing
