#include "common/log.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace sluice::log {
namespace {

constexpr char kLoggerName[] = "sluice";
// ISO-8601 local time with microseconds, level, thread, message.
constexpr char kPattern[] = "%Y-%m-%dT%H:%M:%S.%f%z %^%l%$ [%t] %v";
constexpr size_t kMaxFileBytes = 64 * 1024 * 1024;
constexpr size_t kMaxFiles = 5;

// The logger is created once and never replaced: Logger() hands out a reference that
// other threads may be using while Init reconfigures it. Init swaps the sinks inside
// this distributing sink instead, which is safe under its own mutex.
struct State {
  std::shared_ptr<spdlog::sinks::dist_sink_mt> sinks;
  std::shared_ptr<spdlog::logger> logger;
};

State& GetState() {
  // Leaked on purpose so logging from threads that outlive main's statics keeps working.
  static State* const state = [] {
    auto* s = new State;
    s->sinks = std::make_shared<spdlog::sinks::dist_sink_mt>();
    s->sinks->add_sink(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    s->logger = std::make_shared<spdlog::logger>(kLoggerName, s->sinks);
    s->logger->set_pattern(kPattern);
    s->logger->set_level(spdlog::level::info);
    // What an operator reads after a crash (SIGKILL, power loss) is what reached the
    // file: warnings, errors and the info lines, which are the state changes ("started",
    // "service state: ...", "now deciding ...", a target down or up again) and are few,
    // go out at once, or the log of a crashed node ends at its last warning and the node
    // seems to have hung. The chatty levels below are flushed every second (Init).
    s->logger->flush_on(spdlog::level::info);
    if (spdlog::get(kLoggerName) == nullptr) spdlog::register_logger(s->logger);
    return s;
  }();
  return *state;
}

}  // namespace

void Init(std::string_view level, std::string_view file) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  State& state = GetState();

  std::vector<spdlog::sink_ptr> sinks{std::make_shared<spdlog::sinks::stderr_color_sink_mt>()};
  std::string file_error;
  if (!file.empty()) {
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
          std::string(file), kMaxFileBytes, kMaxFiles));
    } catch (const spdlog::spdlog_ex& e) {
      file_error = e.what();
    }
  }
  state.sinks->set_sinks(std::move(sinks));
  // Debug and trace lines reach the file within a second (one thread, started once).
  static bool flusher_started = false;
  if (!flusher_started) {
    spdlog::flush_every(std::chrono::seconds(1));
    flusher_started = true;
  }
  // New sinks come with spdlog's default pattern; this applies ours to all of them.
  state.logger->set_pattern(kPattern);

  // spdlog maps an unknown name to "off", which would silence the daemon; fall back.
  spdlog::level::level_enum parsed = spdlog::level::from_str(std::string(level));
  const bool bad_level = parsed == spdlog::level::off && level != "off";
  state.logger->set_level(bad_level ? spdlog::level::info : parsed);

  if (bad_level) state.logger->warn("unknown log level '{}', using info", level);
  if (!file_error.empty()) {
    state.logger->error("cannot log to file {}: {}; logging to stderr only", file, file_error);
  }
}

spdlog::logger& Logger() { return *GetState().logger; }

}  // namespace sluice::log
