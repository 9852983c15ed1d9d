#include "common/failpoint.h"

#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace sluice::failpoint {
namespace {

// The exit status of a process killed by SIGKILL as a shell reports it, so a test harness
// sees the same thing for a fail point crash as for kill -9.
constexpr int kCrashExitCode = 137;

struct Action {
  enum class Kind { kCrash, kError, kSleep };
  Kind kind = Kind::kCrash;
  int sleep_ms = 0;
  int64_t only_pass = 0;  // fire on this pass only (1-based); 0 fires on every pass
};

struct Point {
  Action action;
  int64_t passes = 0;
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Parses a positive decimal integer that makes up all of `s`.
bool ParsePositive(std::string_view s, int64_t* value) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *value);
  return ec == std::errc() && end == s.data() + s.size() && *value > 0;
}

Result<Action> ParseAction(std::string_view name, std::string_view text) {
  const std::string_view original = text;
  auto bad = [&] {
    return Status::InvalidArgument(fmt::format(
        "fail point '{}': bad action '{}' (expected crash, error, sleep(MS) or N*ACTION)", name,
        original));
  };
  text = Trim(text);
  Action action;
  if (size_t star = text.find('*'); star != std::string_view::npos) {
    if (!ParsePositive(Trim(text.substr(0, star)), &action.only_pass)) return bad();
    text = Trim(text.substr(star + 1));
  }
  if (text == "crash") {
    action.kind = Action::Kind::kCrash;
  } else if (text == "error") {
    action.kind = Action::Kind::kError;
  } else if (text.starts_with("sleep(") && text.ends_with(")")) {
    int64_t ms = 0;
    std::string_view arg = Trim(text.substr(6, text.size() - 7));
    // Zero is allowed ("yield here"); an hour is far beyond any sane test.
    if (!(arg == "0" || ParsePositive(arg, &ms)) || ms > 3'600'000) return bad();
    action.kind = Action::Kind::kSleep;
    action.sleep_ms = static_cast<int>(ms);
  } else {
    return bad();
  }
  return action;
}

class Registry {
 public:
  static Registry& Get() {
    // Leaked on purpose: fail points may be evaluated from threads still running while
    // static destructors run at exit.
    static Registry* const registry = new Registry();
    return *registry;
  }

  void Arm(std::string_view name, const Action& action) {
    std::lock_guard lock(mu_);
    points_.insert_or_assign(std::string(name), Point{action, 0});
    any_armed_.store(true, std::memory_order_release);
  }

  void ArmAll(const std::vector<std::pair<std::string, Action>>& points) {
    std::lock_guard lock(mu_);
    for (const auto& [name, action] : points) points_.insert_or_assign(name, Point{action, 0});
    any_armed_.store(!points_.empty(), std::memory_order_release);
  }

  void Disarm(std::string_view name) {
    std::lock_guard lock(mu_);
    if (auto it = points_.find(name); it != points_.end()) points_.erase(it);
    any_armed_.store(!points_.empty(), std::memory_order_release);
  }

  void DisarmAll() {
    std::lock_guard lock(mu_);
    points_.clear();
    any_armed_.store(false, std::memory_order_release);
  }

  bool AnyArmed() const { return any_armed_.load(std::memory_order_acquire); }

  // Counts a pass through `name`; returns the action to run now, if any.
  std::optional<Action> Pass(std::string_view name) {
    std::lock_guard lock(mu_);
    auto it = points_.find(name);
    if (it == points_.end()) return std::nullopt;
    Point& point = it->second;
    ++point.passes;
    if (point.action.only_pass != 0 && point.passes != point.action.only_pass) {
      return std::nullopt;
    }
    return point.action;
  }

  // Runs `parse` at most once per process, other callers waiting until it is done.
  template <typename F>
  void OnceForEnvironment(F&& parse) {
    std::call_once(environment_once_, std::forward<F>(parse));
  }
  bool EnvironmentParsed() const { return environment_parsed_.load(std::memory_order_acquire); }
  void MarkEnvironmentParsed() { environment_parsed_.store(true, std::memory_order_release); }

 private:
  Registry() = default;

  std::mutex mu_;
  std::map<std::string, Point, std::less<>> points_;  // guarded by mu_
  // Mirrors !points_.empty() so that Evaluate costs one load when nothing is armed.
  std::atomic<bool> any_armed_{false};
  std::once_flag environment_once_;
  std::atomic<bool> environment_parsed_{false};
};

Result<std::vector<std::pair<std::string, Action>>> ParseSpec(std::string_view spec) {
  std::vector<std::pair<std::string, Action>> points;
  while (!spec.empty()) {
    size_t semi = spec.find(';');
    std::string_view entry = Trim(spec.substr(0, semi));
    spec = semi == std::string_view::npos ? std::string_view() : spec.substr(semi + 1);
    if (entry.empty()) continue;
    size_t eq = entry.find('=');
    std::string_view name = eq == std::string_view::npos ? entry : Trim(entry.substr(0, eq));
    if (eq == std::string_view::npos || name.empty()) {
      return Status::InvalidArgument(
          fmt::format("SLUICE_FAILPOINTS: bad entry '{}' (expected name=action)", entry));
    }
    Result<Action> action = ParseAction(name, entry.substr(eq + 1));
    if (!action.ok()) return action.status().Annotate("SLUICE_FAILPOINTS");
    points.emplace_back(std::string(name), *action);
  }
  return points;
}

// The first Evaluate in a process arms what the environment asks for, so a child started
// by a crash test needs no code of its own to arm its points.
void EnsureEnvironmentParsed() {
  Registry& registry = Registry::Get();
  if (registry.EnvironmentParsed()) return;
  registry.OnceForEnvironment([] {
    if (Status s = ArmFromEnvironment(); !s.ok()) {
      // A test that armed a point by mistake must not silently test nothing.
      std::fprintf(stderr, "sluice: %s\n", s.ToString().c_str());
      std::abort();
    }
  });
}

}  // namespace

Status Arm(std::string_view name, std::string_view action) {
  if (Trim(name).empty()) return Status::InvalidArgument("fail point name is empty");
  SLUICE_ASSIGN_OR_RETURN(Action parsed, ParseAction(name, action));
  Registry::Get().Arm(Trim(name), parsed);
  return Status::OK();
}

void Disarm(std::string_view name) { Registry::Get().Disarm(Trim(name)); }

void DisarmAll() { Registry::Get().DisarmAll(); }

Status ArmFromEnvironment() {
  Registry& registry = Registry::Get();
  const char* spec = std::getenv("SLUICE_FAILPOINTS");
  Status status;
  if (spec != nullptr) {
    auto points = ParseSpec(spec);
    // Nothing is armed from a spec with an error in it.
    if (points.ok()) {
      registry.ArmAll(*points);
    } else {
      status = points.status();
    }
  }
  // Marked only now, after arming, so that a concurrent first Evaluate cannot skip a
  // point that is about to be armed. An explicit call counts as the lazy one: parsing
  // again later would re-arm points that the caller has since disarmed.
  registry.MarkEnvironmentParsed();
  return status;
}

Status Evaluate(std::string_view name) {
  EnsureEnvironmentParsed();
  Registry& registry = Registry::Get();
  if (!registry.AnyArmed()) return Status::OK();
  std::optional<Action> action = registry.Pass(name);
  if (!action) return Status::OK();
  switch (action->kind) {
    case Action::Kind::kCrash:
      // _exit, not exit: no atexit handlers, no stdio flush, just like a kill -9.
      ::_exit(kCrashExitCode);
    case Action::Kind::kSleep:
      std::this_thread::sleep_for(std::chrono::milliseconds(action->sleep_ms));
      return Status::OK();
    case Action::Kind::kError:
      return Status::IOError(fmt::format("fail point {} injected an error", name));
  }
  return Status::OK();
}

}  // namespace sluice::failpoint
