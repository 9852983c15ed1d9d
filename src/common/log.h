#pragma once
// Logging: spdlog, one process-wide logger named "sluice". Stderr by default; the daemon
// may add a file. Use the spdlog macros through these names so the logger can change.

#include <spdlog/spdlog.h>

namespace sluice::log {

// Sets up the process-wide logger (idempotent). `level` is spdlog's name: "debug",
// "info", "warn", "error". `file` (optional) adds a rotating file sink. Lines at info
// and above (state changes, warnings, errors) are flushed as they are written, so the
// log of a killed process ends where the process was; lower levels within a second.
void Init(std::string_view level = "info", std::string_view file = {});
spdlog::logger& Logger();

}  // namespace sluice::log

#define SLUICE_LOG_DEBUG(...) ::sluice::log::Logger().debug(__VA_ARGS__)
#define SLUICE_LOG_INFO(...) ::sluice::log::Logger().info(__VA_ARGS__)
#define SLUICE_LOG_WARN(...) ::sluice::log::Logger().warn(__VA_ARGS__)
#define SLUICE_LOG_ERROR(...) ::sluice::log::Logger().error(__VA_ARGS__)
