// `sluiced --config FILE [--check]`: the Sluice history data service daemon.
//
// Exit codes: 0 after a clean shutdown (SIGTERM or SIGINT), or a valid config with
// --check; 1 the node could not start (data directory locked, address in use, damaged
// state) or did not shut down cleanly; 2 usage error or invalid config file (the message
// names the file, line and key).

#include <pthread.h>
#include <signal.h>
#include <string.h>

#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "common/log.h"
#include "config/config.h"
#include "daemon/node.h"

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

  // SIGTERM and SIGINT are taken by sigwait() below: blocked here, before any thread
  // starts, so every thread inherits the mask and none of them is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a vanished peer is an error on its socket, not a death

  sluice::log::Init(cfg->node.log_level, cfg->node.log_file);
  for (const auto& w : cfg->warnings) SLUICE_LOG_WARN("config: {}", w);

  auto node = sluice::daemon::Node::Open(std::move(cfg).value());
  if (!node.ok()) {
    SLUICE_LOG_ERROR("sluiced cannot start: {}", node.status().ToString());
    return kExitFailed;
  }
  sluice::Status started = (*node)->Start();
  if (!started.ok()) {
    SLUICE_LOG_ERROR("sluiced cannot start: {}", started.ToString());
    (*node)->Shutdown().IgnoreError();  // the start error is the one that matters
    return kExitFailed;
  }
  SLUICE_LOG_INFO("sluiced started: {}", (*node)->Summary());

  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  SLUICE_LOG_INFO("received {}: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  sluice::Status stopped = (*node)->Shutdown();
  node->reset();
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
      "Runs until SIGTERM or SIGINT, then shuts down cleanly: nothing acknowledged is lost.\n"
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
