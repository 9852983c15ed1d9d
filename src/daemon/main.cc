// `sluiced --config FILE [--check]`: the Sluice history data service daemon.
//
// SIGHUP (or `sluice config reload`) reads the config file again and applies it
// (docs/reload.md); a file that does not parse is refused and the running config stays.
//
// Exit codes: 0 after a clean shutdown (SIGTERM or SIGINT), or a valid config with
// --check; 1 the node could not start (data directory locked, address in use, damaged
// state) or did not shut down cleanly; 2 usage error or invalid config file (the message
// names the file, line and key).

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "common/log.h"
#include "config/config.h"
#include "daemon/reloading_node.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

int Run(const std::string& config_path, bool check) {
  auto cfg = sluice::config::LoadConfigFile(config_path);
  if (!cfg.ok()) {
    // Config errors are printed as they are: each names file, line, column and key.
    fmt::print(stderr, "{}\n", cfg.status().message());
    return kExitUsage;
  }
  if (check) {
    for (const auto& w : cfg->warnings) fmt::print(stderr, "warning: {}\n", w);
    fmt::print("{}: valid (node '{}', {} streams, {} targets)\n", config_path, cfg->node.id,
               cfg->streams.size(), cfg->targets.size());
    return kExitOk;
  }

  // SIGTERM, SIGINT and SIGHUP are taken by sigwait() below: blocked here, before any
  // thread starts, so every thread inherits the mask and none of them is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a vanished peer is an error on its socket, not a death

  sluice::log::Init(cfg->node.log_level, cfg->node.log_file);
  for (const auto& w : cfg->warnings) SLUICE_LOG_WARN("config: {}", w);

  // Admin.ReloadConfig wakes this thread the way an operator's SIGHUP does.
  sluice::daemon::ReloadingNode node({}, [] { kill(getpid(), SIGHUP); });
  sluice::Status started = node.Start(std::move(cfg).value());
  if (!started.ok()) {
    SLUICE_LOG_ERROR("sluiced cannot start: {}", started.ToString());
    return kExitFailed;
  }
  SLUICE_LOG_INFO("sluiced started: {}", node.node()->Summary());

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig != SIGHUP) {
      SLUICE_LOG_INFO("received {}: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    SLUICE_LOG_INFO("reloading the config file {}", config_path);
    node.Reload().IgnoreError();  // logged; a refused or failed reload keeps the running config
    if (!node.running()) return kExitFailed;
  }
  sluice::Status stopped = node.Shutdown();
  if (!stopped.ok()) {
    SLUICE_LOG_ERROR("sluiced stopped with an error: {}", stopped.ToString());
    return kExitFailed;
  }
  SLUICE_LOG_INFO("sluiced stopped cleanly");
  sluice::log::Logger().flush();
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sluiced: the Sluice history data service", "sluiced"};
  std::string config_path;
  bool check = false;
  app.add_option("-c,--config", config_path, "the configuration file (TOML)")->required();
  app.add_flag("--check", check, "check the configuration file and exit");
  app.footer(
      "Runs until SIGTERM or SIGINT, then shuts down cleanly: nothing acknowledged is lost. "
      "SIGHUP reloads the config file (docs/reload.md).\n"
      "Exit codes: 0 clean shutdown, or a valid config with --check; 1 could not start or "
      "did not stop cleanly (see the log); 2 usage error or invalid config file (the message "
      "names file, line and key).");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  return Run(config_path, check);
}
